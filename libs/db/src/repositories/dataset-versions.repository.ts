import { Inject, Injectable } from '@nestjs/common';
import { Pool, type PoolClient } from 'pg';
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
  parentNumber: number | null;
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
// An item whose newest annotation is a retraction (NULL label) is unlabeled there.
const LABELS_AT_SQL = `
SELECT item_id, label FROM (
  SELECT DISTINCT ON (item_id) item_id, label FROM annotations
  WHERE project_id = $1 AND seq <= $2::bigint
  ORDER BY item_id, seq DESC
) newest WHERE label IS NOT NULL`;

// A seq is handed out when an annotation is written, not when it commits: a transaction still
// open at a freeze (an import is one) could commit annotations below the watermark later and
// change a version that must stay as it was. So the watermark is capped at the last seq handed
// out before the freeze, and the freeze first waits for the transactions running at that moment
// (except those known to be in other databases), after which every seq up to the cap is final.
const SEQ_CAP_SQL = `SELECT coalesce(pg_sequence_last_value(pg_get_serial_sequence('annotations', 'seq')::regclass), 0)::text AS cap`;
const RUNNING_SQL = `
SELECT coalesce(array_agg(x::text), '{}') AS running FROM pg_snapshot_xip(pg_current_snapshot()) x
WHERE xid(x) NOT IN (SELECT backend_xid FROM pg_stat_activity
                     WHERE backend_xid IS NOT NULL AND datname IS DISTINCT FROM current_database())`;
const STILL_RUNNING_SQL = `SELECT count(*)::int AS n FROM unnest($1::xid8[]) x WHERE pg_xact_status(x) = 'in progress'`;
const SETTLE_POLL_MS = 20;
const SETTLE_MAX_MS = 10 * 60_000;

// Versions of a project take turns (advisory lock) so numbers are dense and parents form a chain. The cap
// never goes below the parent's watermark (settled when the parent froze): a freeze that waited for writers
// while another committed must not produce a child older than its parent.
const FREEZE_SQL = `
WITH floor AS (
  SELECT coalesce((SELECT watermark FROM dataset_versions WHERE project_id = $1 ORDER BY number DESC LIMIT 1), 0)
    AS watermark
), mark AS (
  SELECT coalesce(max(seq), 0) AS watermark FROM annotations, floor
  WHERE project_id = $1 AND seq <= greatest($4::bigint, floor.watermark)
), newest AS (
  SELECT DISTINCT ON (a.item_id) a.item_id, a.label FROM annotations a, mark
  WHERE a.project_id = $1 AND a.seq <= mark.watermark
  ORDER BY a.item_id, a.seq DESC
), labels AS (
  SELECT item_id, label FROM newest WHERE label IS NOT NULL
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
RETURNING id, project_id, number, watermark::text, parent_id, (SELECT number FROM parent) AS parent_number, message,
          author, counts, created_at`;

const VERSION_COLUMNS = `v.id, v.project_id, v.number, v.watermark::text, v.parent_id, p.number AS parent_number,
  v.message, v.author, v.counts, v.created_at`;
const VERSION_FROM = `dataset_versions v LEFT JOIN dataset_versions p ON p.id = v.parent_id`;

// A diff only looks at items with an annotation between the two watermarks (nothing else can
// differ) and reads each one's label at both ends through the (project, item, seq) index.
const DIFF_ROWS_SQL = `
WITH touched AS (
  SELECT DISTINCT item_id FROM annotations
  WHERE project_id = $1 AND seq > least($2::bigint, $3::bigint) AND seq <= greatest($2::bigint, $3::bigint)
), compared AS (
  SELECT t.item_id,
    (SELECT a.label FROM annotations a WHERE a.project_id = $1 AND a.item_id = t.item_id AND a.seq <= $2::bigint
     ORDER BY a.seq DESC LIMIT 1) AS before,
    (SELECT a.label FROM annotations a WHERE a.project_id = $1 AND a.item_id = t.item_id AND a.seq <= $3::bigint
     ORDER BY a.seq DESC LIMIT 1) AS after
  FROM touched t
), changes AS (
  SELECT item_id, before, after,
         CASE WHEN before IS NULL THEN 'added' WHEN after IS NULL THEN 'removed' ELSE 'changed' END AS change
  FROM compared WHERE before IS DISTINCT FROM after
)`;

// One keyset batch of a version's export: items labeled at the watermark, by id, each with
// its newest annotation at or below it (label, annotator, time).
const EXPORT_BATCH_SQL = `
SELECT i.id, i.external_id, i.payload, i.object_key, i.metadata, i.split, l.label, l.annotator, l.created_at
FROM items i
CROSS JOIN LATERAL (
  SELECT a.label, a.annotator, a.created_at FROM annotations a
  WHERE a.project_id = $1 AND a.item_id = i.id AND a.seq <= $2::bigint
  ORDER BY a.seq DESC LIMIT 1
) l
WHERE i.project_id = $1 AND ($3::uuid IS NULL OR i.id > $3::uuid) AND l.label IS NOT NULL
ORDER BY i.id
LIMIT $4`;

export type LabelChange = 'added' | 'changed' | 'removed';

/** One item whose label differs between two versions: before at the first, after at the second. */
export interface LabelDiffRow {
  itemId: string;
  externalId: string;
  change: LabelChange;
  before: string | null;
  after: string | null;
}

/** One labeled item of an exported version. */
export interface ExportedLabel {
  id: string;
  externalId: string;
  payload: unknown;
  objectKey: string | null;
  metadata: Record<string, unknown>;
  split: 'pool' | 'holdout';
  label: string;
  annotator: string;
  labeledAt: Date;
}

function toRecord(row: Record<string, unknown>): DatasetVersionRecord {
  return {
    id: row.id as string,
    projectId: row.project_id as string,
    number: row.number as number,
    watermark: row.watermark as string,
    parentId: row.parent_id as string | null,
    parentNumber: row.parent_number as number | null,
    message: row.message as string,
    author: row.author as string,
    counts: row.counts as DatasetCounts,
    createdAt: row.created_at as Date,
  };
}

/** The last seq handed out, once every transaction that could still commit one at or below it has ended. */
async function settledSeqCap(client: PoolClient): Promise<string> {
  const { rows: capRows } = await client.query(SEQ_CAP_SQL);
  // A second statement: its snapshot is taken after the cap was read, so it lists every writer of a seq up to it.
  const { rows: runningRows } = await client.query(RUNNING_SQL);
  const running = runningRows[0].running as string[];
  const deadline = Date.now() + SETTLE_MAX_MS;
  while (running.length > 0) {
    const { rows } = await client.query(STILL_RUNNING_SQL, [running]);
    if (rows[0].n === 0) break;
    if (Date.now() > deadline)
      throw new Error('dataset version: annotation writers still running after 10 minutes');
    await new Promise((resolve) => setTimeout(resolve, SETTLE_POLL_MS));
  }
  return capRows[0].cap as string;
}

@Injectable()
export class DatasetVersionsRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /**
   * Freezes the project's labels now: a new version whose watermark is the highest annotation seq.
   * Commits through the API and the trainer's versions share this one numbering.
   */
  async freeze(projectId: string, message: string, author: string): Promise<DatasetVersionRecord> {
    const client = await this.pool.connect();
    try {
      const cap = await settledSeqCap(client);
      await client.query('BEGIN');
      await client.query(`SELECT pg_advisory_xact_lock(hashtext('dataset_versions:' || $1))`, [projectId]);
      const { rows } = await client.query(FREEZE_SQL, [projectId, message, author, cap]);
      await client.query('COMMIT');
      return toRecord(rows[0]);
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  /**
   * Annotations written after the watermark of the newest version a training froze (all, before any).
   * Versions committed through the API are left out: a commit must not postpone the next retraining.
   */
  async annotationsSinceLastVersion(projectId: string): Promise<number> {
    const { rows } = await this.pool.query(
      `SELECT count(*)::int AS n FROM annotations
       WHERE project_id = $1 AND seq > coalesce(
         (SELECT v.watermark FROM dataset_versions v
          WHERE v.project_id = $1 AND EXISTS (SELECT 1 FROM model_versions m WHERE m.dataset_version_id = v.id)
          ORDER BY v.number DESC LIMIT 1), 0)`,
      [projectId],
    );
    return rows[0].n as number;
  }

  async findById(id: string): Promise<DatasetVersionRecord | null> {
    const { rows } = await this.pool.query(`SELECT ${VERSION_COLUMNS} FROM ${VERSION_FROM} WHERE v.id = $1`, [
      id,
    ]);
    return rows[0] ? toRecord(rows[0]) : null;
  }

  async findByNumber(projectId: string, number: number): Promise<DatasetVersionRecord | null> {
    const { rows } = await this.pool.query(
      `SELECT ${VERSION_COLUMNS} FROM ${VERSION_FROM} WHERE v.project_id = $1 AND v.number = $2`,
      [projectId, number],
    );
    return rows[0] ? toRecord(rows[0]) : null;
  }

  /** Newest first; `before` is the number of the previous page's last version. */
  async list(projectId: string, limit: number, before?: number): Promise<DatasetVersionRecord[]> {
    const { rows } = await this.pool.query(
      `SELECT ${VERSION_COLUMNS} FROM ${VERSION_FROM}
       WHERE v.project_id = $1 AND ($2::int IS NULL OR v.number < $2::int)
       ORDER BY v.number DESC LIMIT $3`,
      [projectId, before ?? null, limit],
    );
    return rows.map(toRecord);
  }

  /** How many items were added, changed and removed going from watermark `from` to watermark `to`. */
  async diffCounts(projectId: string, from: string, to: string): Promise<Record<LabelChange, number>> {
    const { rows } = await this.pool.query(
      `${DIFF_ROWS_SQL}
       SELECT count(*) FILTER (WHERE change = 'added')::int AS added,
              count(*) FILTER (WHERE change = 'changed')::int AS changed,
              count(*) FILTER (WHERE change = 'removed')::int AS removed
       FROM changes`,
      [projectId, from, to],
    );
    return rows[0];
  }

  /** One page of the differing items, by item id after `cursor`, optionally of one kind of change. */
  async diffPage(
    projectId: string,
    from: string,
    to: string,
    page: { limit: number; cursor?: string; change?: LabelChange },
  ): Promise<LabelDiffRow[]> {
    const { rows } = await this.pool.query(
      `${DIFF_ROWS_SQL}
       SELECT c.item_id, i.external_id, c.change, c.before, c.after
       FROM changes c JOIN items i ON i.id = c.item_id
       WHERE ($4::uuid IS NULL OR c.item_id > $4::uuid) AND ($5::text IS NULL OR c.change = $5::text)
       ORDER BY c.item_id LIMIT $6`,
      [projectId, from, to, page.cursor ?? null, page.change ?? null, page.limit],
    );
    return rows.map((row) => ({
      itemId: row.item_id,
      externalId: row.external_id,
      change: row.change,
      before: row.before,
      after: row.after,
    }));
  }

  /** One keyset batch of the items labeled at the watermark, by id after `after` (from the start when null). */
  async exportBatch(
    projectId: string,
    watermark: string,
    after: string | null,
    limit: number,
  ): Promise<ExportedLabel[]> {
    const { rows } = await this.pool.query({
      name: 'dataset_versions.export_batch',
      text: EXPORT_BATCH_SQL,
      values: [projectId, watermark, after, limit],
    });
    return rows.map((row) => ({
      id: row.id,
      externalId: row.external_id,
      payload: row.payload,
      objectKey: row.object_key,
      metadata: row.metadata,
      split: row.split,
      label: row.label,
      annotator: row.annotator,
      labeledAt: row.created_at,
    }));
  }

  /** Every item labeled as of the watermark, with the label it had then; ordered by item id. */
  async labeledItems(
    projectId: string,
    watermark: string,
    split?: 'pool' | 'holdout',
  ): Promise<LabeledItem[]> {
    const { rows } = await this.pool.query(
      `SELECT i.id, i.split, i.payload, i.object_key, l.label
       FROM (${LABELS_AT_SQL}) l JOIN items i ON i.id = l.item_id
       WHERE $3::"Split" IS NULL OR i.split = $3::"Split"
       ORDER BY i.id`,
      [projectId, watermark, split ?? null],
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
