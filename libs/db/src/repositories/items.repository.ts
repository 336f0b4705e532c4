import { Inject, Injectable } from '@nestjs/common';
import { Pool, PoolClient } from 'pg';
import { PG_POOL, PRISMA } from '../db.tokens';
import type { Prisma } from '../prisma';
import { fillColdStartQueue, LOCK_QUEUE_SQL } from './cold-start-queue';

export interface NewItemRow {
  /** A time-ordered (v7) UUID. */
  id: string;
  externalId: string;
  /** JSON text of the payload, or null when the bytes live in the object store. */
  payloadJson: string | null;
  objectKey: string | null;
  contentHash: string;
  split: 'pool' | 'holdout';
  metadataJson: string;
  /** A label that comes with the import; recorded as an annotation with source `import`. */
  label: string | null;
  /** Who gave the label (an exported version carries it); null = the importing key. */
  annotator: string | null;
  /** When the label was given (an exported version carries it); null = now. */
  labeledAt: Date | null;
  /** Place in the cold-start queue. */
  coldPriority: number;
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

// Items get time-ordered (v7) ids from the caller: new index entries then land at
// the right edge of the b-trees instead of on random pages.
const INSERT_BATCH_SQL = `
WITH input AS (
  SELECT * FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
                       $10::float8[], $12::text[], $13::timestamptz[])
    AS t(id, external_id, payload, object_key, content_hash, split, metadata, label, cold_priority, annotator,
         labeled_at)
), inserted AS (
  INSERT INTO items (id, project_id, external_id, payload, object_key, content_hash, split, metadata, label,
                     labeled_at, cold_priority)
  SELECT id, $1, external_id, payload::jsonb, object_key, content_hash, split::"Split", metadata::jsonb, label,
         CASE WHEN label IS NULL THEN NULL ELSE coalesce(labeled_at, now()) END, cold_priority
  FROM input
  ON CONFLICT (project_id, external_id) DO NOTHING
  RETURNING id, label, labeled_at
), imported_labels AS (
  INSERT INTO annotations (project_id, item_id, label, annotator, source, created_at)
  SELECT $1, inserted.id, inserted.label, coalesce(input.annotator, $11), 'import', inserted.labeled_at
  FROM inserted JOIN input ON input.id = inserted.id WHERE inserted.label IS NOT NULL
)
SELECT count(*)::int AS created FROM inserted`;

// Deleting an item, in this order, in one transaction. The row stays (versions committed before keep exporting
// it); a retraction in the log takes it out of every version committed after; its tasks (open or leased),
// prediction and suspect go.
// - The project's queue lock first, the one every writer of tasks takes (cold-start fill, rescoring): a task
//   such a writer adds for the item is either committed before, and deleted here, or added after, when the
//   writer sees the item deleted.
// - Then the item's row: an item annotation locks it before writing (see APPEND_SQL), so it either lands
//   before the retraction or finds the item deleted. A task annotation locks its task before the item, the
//   other way round: if one is in flight the delete gives up (lock_timeout, well under the server's 1 s
//   deadlock check, so the delete is the one that yields) and starts again after it.
const DELETE_ITEM_STEPS = {
  lockQueue: LOCK_QUEUE_SQL,
  markDeleted: `
    UPDATE items SET deleted_at = now(), label = NULL, labeled_at = now()
    WHERE id = $1 AND project_id = $2 AND deleted_at IS NULL`,
  retract: `
    INSERT INTO annotations (project_id, item_id, label, annotator, source) VALUES ($2, $1, NULL, $3, 'review')`,
  dropDerived: `
    WITH tasks_gone AS (DELETE FROM tasks WHERE item_id = $1),
         predictions_gone AS (DELETE FROM predictions WHERE item_id = $1)
    DELETE FROM suspects WHERE item_id = $1`,
};
const DELETE_LOCK_TIMEOUT_MS = 200;
const DELETE_ATTEMPTS = 10;
const LOCK_NOT_AVAILABLE = '55P03';

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
      rows.map((r) => r.id),
      rows.map((r) => r.externalId),
      rows.map((r) => r.payloadJson),
      rows.map((r) => r.objectKey),
      rows.map((r) => r.contentHash),
      rows.map((r) => r.split),
      rows.map((r) => r.metadataJson),
      rows.map((r) => r.label),
      rows.map((r) => r.coldPriority),
      this.annotator,
      rows.map((r) => r.annotator),
      rows.map((r) => r.labeledAt),
    ]);
    return result.rows[0].created;
  }

  /** Tops up the cold-start queue in the same transaction, so imported items are ready to hand out. */
  fillColdStartQueue(target: number): Promise<number> {
    return fillColdStartQueue(this.client, this.projectId, target);
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
        deletedAt: null,
        ...(filter.split ? { split: filter.split } : {}),
        // AND, not spread keys: `label` and `labeled` both constrain the label column and must both hold.
        AND: [
          ...(filter.label !== undefined ? [{ label: filter.label }] : []),
          ...(filter.labeled === true ? [{ label: { not: null } }] : []),
          ...(filter.labeled === false ? [{ label: null }] : []),
        ],
      },
      orderBy: { id: 'asc' },
      take: filter.limit,
      ...(filter.cursor ? { cursor: { id: filter.cursor }, skip: 1 } : {}),
    })) as ItemRecord[];
  }

  /**
   * Refreshes planner statistics after a bulk import. Until autovacuum gets to it,
   * the planner would otherwise plan the labeling queries for the table as it was
   * before the import (possibly empty) and scan instead of using the queue index.
   */
  async refreshStatistics(): Promise<void> {
    await this.pool.query('ANALYZE items, tasks');
  }

  /** The item, unless it is unknown or deleted. */
  async findById(id: string): Promise<ItemRecord | null> {
    return (await this.prisma.item.findFirst({ where: { id, deletedAt: null } })) as ItemRecord | null;
  }

  count(projectId: string): Promise<number> {
    return this.prisma.item.count({ where: { projectId, deletedAt: null } });
  }

  /**
   * Deletes an item for everything but the dataset versions committed before (see DELETE_ITEM_STEPS); the
   * retraction is by `deletedBy`. False when it is unknown or already deleted.
   */
  async delete(item: { id: string; projectId: string }, deletedBy: string): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      const client = await this.pool.connect();
      try {
        await client.query('BEGIN');
        await client.query(DELETE_ITEM_STEPS.lockQueue, [item.projectId]);
        await client.query(`SET LOCAL lock_timeout = '${DELETE_LOCK_TIMEOUT_MS}ms'`);
        const marked = await client.query(DELETE_ITEM_STEPS.markDeleted, [item.id, item.projectId]);
        if (marked.rowCount === 0) {
          await client.query('ROLLBACK');
          return false;
        }
        await client.query(DELETE_ITEM_STEPS.retract, [item.id, item.projectId, deletedBy]);
        await client.query(DELETE_ITEM_STEPS.dropDerived, [item.id]);
        await client.query('COMMIT');
        return true;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        if ((error as { code?: string }).code !== LOCK_NOT_AVAILABLE || attempt === DELETE_ATTEMPTS)
          throw error;
      } finally {
        client.release();
      }
    }
  }
}
