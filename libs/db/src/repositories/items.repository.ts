import { Inject, Injectable } from '@nestjs/common';
import { Pool, PoolClient } from 'pg';
import { PG_POOL, PRISMA } from '../db.tokens';
import type { Prisma } from '../prisma';

export interface NewItemRow {
  externalId: string;
  /** JSON text of the payload, or null when the bytes live in the object store. */
  payloadJson: string | null;
  objectKey: string | null;
  contentHash: string;
  split: 'pool' | 'holdout';
  metadataJson: string;
  /** A label that comes with the import; recorded as an annotation with source `import`. */
  label: string | null;
  /** Cold-start task priority. */
  priority: number;
}

export interface ItemRecord {
  id: string;
  projectId: string;
  externalId: string;
  payload: unknown;
  objectKey: string | null;
  contentHash: string;
  split: 'pool' | 'holdout';
  metadata: unknown;
  label: string | null;
  labeledAt: Date | null;
  createdAt: Date;
}

export interface ItemFilter {
  projectId: string;
  labeled?: boolean;
  label?: string;
  split?: 'pool' | 'holdout';
  cursor?: string;
  limit: number;
}

const INSERT_BATCH_SQL = `
WITH input AS (
  SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::float8[])
    AS t(external_id, payload, object_key, content_hash, split, metadata, label, priority)
), inserted AS (
  INSERT INTO items (project_id, external_id, payload, object_key, content_hash, split, metadata, label, labeled_at)
  SELECT $1, external_id, payload::jsonb, object_key, content_hash, split::"Split", metadata::jsonb, label,
         CASE WHEN label IS NULL THEN NULL ELSE now() END
  FROM input
  ON CONFLICT (project_id, external_id) DO NOTHING
  RETURNING id, external_id, label
), new_tasks AS (
  INSERT INTO tasks (project_id, item_id, priority)
  SELECT $1, inserted.id, input.priority FROM inserted JOIN input USING (external_id) WHERE inserted.label IS NULL
), imported_labels AS (
  INSERT INTO annotations (project_id, item_id, label, annotator, source)
  SELECT $1, id, label, $10, 'import' FROM inserted WHERE label IS NOT NULL
)
SELECT count(*)::int AS created FROM inserted`;

/**
 * One import request = one transaction: batches go in as they are parsed and
 * nothing is visible (or kept) until commit.
 */
export class ItemImportSession {
  constructor(
    private readonly client: PoolClient,
    private readonly projectId: string,
    private readonly annotator: string,
  ) {}

  /** Rows must have distinct external ids; ids already in the project are skipped. Returns how many were new. */
  async insertBatch(rows: NewItemRow[]): Promise<number> {
    if (rows.length === 0) return 0;
    const result = await this.client.query<{ created: number }>(INSERT_BATCH_SQL, [
      this.projectId,
      rows.map((r) => r.externalId),
      rows.map((r) => r.payloadJson),
      rows.map((r) => r.objectKey),
      rows.map((r) => r.contentHash),
      rows.map((r) => r.split),
      rows.map((r) => r.metadataJson),
      rows.map((r) => r.label),
      rows.map((r) => r.priority),
      this.annotator,
    ]);
    return result.rows[0].created;
  }

  async commit(): Promise<void> {
    try {
      await this.client.query('COMMIT');
    } finally {
      this.client.release();
    }
  }

  async rollback(): Promise<void> {
    try {
      await this.client.query('ROLLBACK');
    } finally {
      this.client.release();
    }
  }
}

@Injectable()
export class ItemsRepository {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(PRISMA) private readonly prisma: Prisma,
  ) {}

  async startImport(projectId: string, annotator: string): Promise<ItemImportSession> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
    } catch (error) {
      client.release();
      throw error;
    }
    return new ItemImportSession(client, projectId, annotator);
  }

  async list(filter: ItemFilter): Promise<ItemRecord[]> {
    return (await this.prisma.item.findMany({
      where: {
        projectId: filter.projectId,
        ...(filter.split ? { split: filter.split } : {}),
        ...(filter.label !== undefined ? { label: filter.label } : {}),
        ...(filter.labeled === true ? { label: { not: null } } : {}),
        ...(filter.labeled === false ? { label: null } : {}),
      },
      orderBy: { id: 'asc' },
      take: filter.limit,
      ...(filter.cursor ? { cursor: { id: filter.cursor }, skip: 1 } : {}),
    })) as ItemRecord[];
  }

  async findById(id: string): Promise<ItemRecord | null> {
    return (await this.prisma.item.findUnique({ where: { id } })) as ItemRecord | null;
  }

  count(projectId: string): Promise<number> {
    return this.prisma.item.count({ where: { projectId } });
  }
}
