import { Inject, Injectable } from '@nestjs/common';
import { Pool } from 'pg';
import { PG_POOL } from '../db.tokens';

export interface DatasetCounts {
  labeled: number;
  pool: number;
  holdout: number;
  perLabel: Record<string, number>;
}

export interface DatasetVersionRecord {
  id: string;
  projectId: string;
  number: number;
  /** Highest annotation seq included, as text (a bigint). */
  watermark: string;
  parentId: string | null;
  message: string;
  author: string;
  counts: DatasetCounts;
  createdAt: Date;
}

/** One labeled item as of a watermark: its newest annotation with seq <= watermark. */
export interface LabeledItem {
  id: string;
  split: 'pool' | 'holdout';
  payload: unknown;
  objectKey: string | null;
  label: string;
}

// The label of each item as of a watermark: its newest annotation at or below it.
const LABELS_AT_SQL = `
SELECT DISTINCT ON (item_id) item_id, label FROM annotations
WHERE project_id = $1 AND seq <= $2::bigint
ORDER BY item_id, seq DESC`;

// Versions of a project take turns (advisory lock) so numbers are dense and parents form a chain.
const FREEZE_SQL = `
WITH mark AS (
  SELECT coalesce(max(seq), 0) AS watermark FROM annotations WHERE project_id = $1
), labels AS (
  SELECT DISTINCT ON (a.item_id) a.item_id, a.label FROM annotations a, mark
  WHERE a.project_id = $1 AND a.seq <= mark.watermark
  ORDER BY a.item_id, a.seq DESC
), counts AS (
  SELECT jsonb_build_object(
    'labeled', count(*),
    'pool', count(*) FILTER (WHERE i.split = 'pool'),
    'holdout', count(*) FILTER (WHERE i.split = 'holdout'),
    'perLabel', coalesce((SELECT jsonb_object_agg(label, n) FROM
                  (SELECT label, count(*) AS n FROM labels GROUP BY label) per), '{}'::jsonb)
  ) AS counts
  FROM labels l JOIN items i ON i.id = l.item_id
), parent AS (
  SELECT id, number FROM dataset_versions WHERE project_id = $1 ORDER BY number DESC LIMIT 1
)
INSERT INTO dataset_versions (project_id, number, watermark, parent_id, message, author, counts)
SELECT $1, coalesce((SELECT number FROM parent), 0) + 1, mark.watermark, (SELECT id FROM parent), $2, $3,
       counts.counts
FROM mark, counts
RETURNING id, project_id, number, watermark::text, parent_id, message, author, counts, created_at`;

function toRecord(row: Record<string, unknown>): DatasetVersionRecord {
  return {
    id: row.id as string,
    projectId: row.project_id as string,
    number: row.number as number,
    watermark: row.watermark as string,
    parentId: row.parent_id as string | null,
    message: row.message as string,
    author: row.author as string,
    counts: row.counts as DatasetCounts,
    createdAt: row.created_at as Date,
  };
}

@Injectable()
export class DatasetVersionsRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /** Freezes the project's labels now: a new version whose watermark is the highest annotation seq. */
  async freeze(projectId: string, message: string, author: string): Promise<DatasetVersionRecord> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`SELECT pg_advisory_xact_lock(hashtext('dataset_versions:' || $1))`, [projectId]);
      const { rows } = await client.query(FREEZE_SQL, [projectId, message, author]);
      await client.query('COMMIT');
      return toRecord(rows[0]);
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  /** Annotations written after the watermark of the project's newest dataset version (all, before one). */
  async annotationsSinceLastVersion(projectId: string): Promise<number> {
    const { rows } = await this.pool.query(
      `SELECT count(*)::int AS n FROM annotations
       WHERE project_id = $1 AND seq > coalesce(
         (SELECT watermark FROM dataset_versions WHERE project_id = $1 ORDER BY number DESC LIMIT 1), 0)`,
      [projectId],
    );
    return rows[0].n as number;
  }

  async findById(id: string): Promise<DatasetVersionRecord | null> {
    const { rows } = await this.pool.query(
      `SELECT id, project_id, number, watermark::text, parent_id, message, author, counts, created_at
       FROM dataset_versions WHERE id = $1`,
      [id],
    );
    return rows[0] ? toRecord(rows[0]) : null;
  }

  /** Every item labeled as of the watermark, with the label it had then; ordered by item id. */
  async labeledItems(projectId: string, watermark: string): Promise<LabeledItem[]> {
    const { rows } = await this.pool.query(
      `SELECT i.id, i.split, i.payload, i.object_key, l.label
       FROM (${LABELS_AT_SQL}) l JOIN items i ON i.id = l.item_id
       ORDER BY i.id`,
      [projectId, watermark],
    );
    return rows.map((row) => ({
      id: row.id,
      split: row.split,
      payload: row.payload,
      objectKey: row.object_key,
      label: row.label,
    }));
  }
}
