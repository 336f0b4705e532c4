import { Inject, Injectable } from '@nestjs/common';
import { Pool } from 'pg';
import { PG_POOL } from '../db.tokens';

export interface DatasetCounts {
  labeled: number;
  pool: number;
  holdout: number;
  perLabel: Record<string, number>;
}

/**
 * What a dataset version holds: the project's annotations up to `watermark` (a seq, as text) that `snapshot`
 * (the freeze's pg_snapshot, as text) saw committed. Both are fixed at the freeze, so the version never
 * changes. A null snapshot (versions frozen before snapshots were kept) holds every annotation up to the
 * watermark.
 */
export interface VersionCut {
  watermark: string;
  snapshot: string | null;
}

/**
 * The watermark of the newest version of project `project` (an SQL expression) that a training froze, 0
 * before any. Versions committed through the API are left out: a commit must not postpone the next
 * retraining. It refers to no annotation, so PostgreSQL computes it once per project, not once per row.
 */
function lastTrainedWatermark(project: string): string {
  return `coalesce((SELECT v.watermark FROM dataset_versions v
    WHERE v.project_id = ${project} AND EXISTS (SELECT 1 FROM model_versions m WHERE m.dataset_version_id = v.id)
    ORDER BY v.number DESC LIMIT 1), 0)`;
}

/** The project's labels as they are now: past every seq, every committed annotation. */
export const CURRENT_LABELS: VersionCut = { watermark: '9223372036854775807', snapshot: null };

export interface DatasetVersionRecord extends VersionCut {
  id: string;
  projectId: string;
  number: number;
  parentId: string | null;
  parentNumber: number | null;
  message: string;
  author: string;
  counts: DatasetCounts;
  createdAt: Date;
}

/** At most `rows` labeled items, a seeded pseudo-random choice (the same for the same seed and version). */
export interface LabeledSample {
  rows: number;
  seed: number;
}

/** One labeled item as of a watermark: its newest annotation with seq <= watermark. */
export interface LabeledItem {
  id: string;
  split: 'pool' | 'holdout';
  payload: unknown;
  objectKey: string | null;
  label: string;
}

/**
 * Whether annotation `a` belongs to the version whose watermark and snapshot are the parameters numbered
 * `w` and `s`. A seq is handed out when an annotation is written, not when it commits: an annotation of a
 * transaction still open at the freeze (an import) has a seq under the watermark yet was not committed; the
 * snapshot leaves it out, for good. Rows older than snapshots (no xid) were settled by waiting.
 */
function inVersion(a: string, w: number, s: number): string {
  return `${a}.seq <= $${w}::bigint
    AND ($${s}::pg_snapshot IS NULL OR ${a}.xid IS NULL OR pg_visible_in_snapshot(${a}.xid, $${s}::pg_snapshot))`;
}

// The label of each item in a version: its newest annotation there.
// An item whose newest annotation is a retraction (NULL label) is unlabeled there.
// `after` (a parameter number) starts past that item id: a page of the label set, read in item id order.
function labelsAt(after?: number): string {
  const from = after ? ` AND a.item_id > $${after}::uuid` : '';
  return `
SELECT item_id, label FROM (
  SELECT DISTINCT ON (a.item_id) a.item_id, a.label FROM annotations a
  WHERE a.project_id = $1 AND ${inVersion('a', 2, 3)}${from}
  ORDER BY a.item_id, a.seq DESC
) newest WHERE label IS NOT NULL`;
}
const LABELS_AT_SQL = labelsAt();

// The freeze's cut: the last seq handed out, then (a later statement, so a later snapshot) the snapshot.
// Every annotation with a seq up to the cap was written before the snapshot: either it was committed then
// (the version holds it) or it was not (the version never will). Nothing to wait for.
const SEQ_CAP_SQL = `SELECT coalesce(pg_sequence_last_value(pg_get_serial_sequence('annotations', 'seq')::regclass), 0)::text AS cap`;
const SNAPSHOT_SQL = `SELECT pg_current_snapshot()::text AS snapshot`;

// Versions of a project take turns (advisory lock) so numbers are dense and parents form a chain; the cap
// and snapshot are read under the lock, so a child's cut holds everything its parent's does. The watermark
// is the project's newest annotation in the cut.
const FREEZE_SQL = `
WITH mark AS (
  SELECT coalesce(max(a.seq), 0) AS watermark FROM annotations a
  WHERE a.project_id = $1 AND ${inVersion('a', 4, 5)}
), newest AS (
  SELECT DISTINCT ON (a.item_id) a.item_id, a.label FROM annotations a
  WHERE a.project_id = $1 AND ${inVersion('a', 4, 5)}
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
INSERT INTO dataset_versions (project_id, number, watermark, snapshot, parent_id, message, author, counts)
SELECT $1, coalesce((SELECT number FROM parent), 0) + 1, mark.watermark, $5::pg_snapshot, (SELECT id FROM parent),
       $2, $3, counts.counts
FROM mark, counts
RETURNING id, project_id, number, watermark::text, snapshot::text, parent_id,
          (SELECT number FROM parent) AS parent_number, message, author, counts, created_at`;

const VERSION_COLUMNS = `v.id, v.project_id, v.number, v.watermark::text, v.snapshot::text, v.parent_id,
  p.number AS parent_number, v.message, v.author, v.counts, v.created_at`;
const VERSION_FROM = `dataset_versions v LEFT JOIN dataset_versions p ON p.id = v.parent_id`;

// A diff only looks at items with an annotation in one version and not the other (nothing else can differ):
// those above the lower watermark, and those under it that the older snapshot did not see (written by a
// transaction then open, so at or after its xmin), found through the xid index. Each one's label at both
// ends is read through the (project, item, seq) index. Parameters: project, cut A ($2, $3), cut B ($4, $5).
const DIFF_ROWS_SQL = `
WITH touched AS (
  SELECT item_id FROM annotations
  WHERE project_id = $1 AND seq > least($2::bigint, $4::bigint) AND seq <= greatest($2::bigint, $4::bigint)
  UNION
  SELECT a.item_id FROM annotations a
  WHERE a.xid >= least(pg_snapshot_xmin($3::pg_snapshot), pg_snapshot_xmin($5::pg_snapshot))
    AND a.project_id = $1 AND a.seq <= least($2::bigint, $4::bigint)
    AND (${inVersion('a', 2, 3)}) IS DISTINCT FROM (${inVersion('a', 4, 5)})
), compared AS (
  SELECT t.item_id,
    (SELECT a.label FROM annotations a WHERE a.project_id = $1 AND a.item_id = t.item_id AND ${inVersion('a', 2, 3)}
     ORDER BY a.seq DESC LIMIT 1) AS before,
    (SELECT a.label FROM annotations a WHERE a.project_id = $1 AND a.item_id = t.item_id AND ${inVersion('a', 4, 5)}
     ORDER BY a.seq DESC LIMIT 1) AS after
  FROM touched t
), changes AS (
  SELECT item_id, before, after,
         CASE WHEN before IS NULL THEN 'added' WHEN after IS NULL THEN 'removed' ELSE 'changed' END AS change
  FROM compared WHERE before IS DISTINCT FROM after
)`;

// One keyset batch of a version's export: items labeled in the version, by id, each with its newest
// annotation there (label, annotator, time).
const EXPORT_BATCH_SQL = `
SELECT i.id, i.external_id, i.payload, i.object_key, i.metadata, i.split, l.label, l.annotator, l.created_at
FROM items i
CROSS JOIN LATERAL (
  SELECT a.label, a.annotator, a.created_at FROM annotations a
  WHERE a.project_id = $1 AND a.item_id = i.id AND ${inVersion('a', 2, 5)}
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
    snapshot: row.snapshot as string | null,
    parentId: row.parent_id as string | null,
    parentNumber: row.parent_number as number | null,
    message: row.message as string,
    author: row.author as string,
    counts: row.counts as DatasetCounts,
    createdAt: row.created_at as Date,
  };
}

@Injectable()
export class DatasetVersionsRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /**
   * Freezes the project's labels now: a new version holding every annotation committed at this moment
   * (see VersionCut). Never waits for writers. Commits through the API and the trainer's versions share
   * this one numbering.
   */
  async freeze(projectId: string, message: string, author: string): Promise<DatasetVersionRecord> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`SELECT pg_advisory_xact_lock(hashtext('dataset_versions:' || $1))`, [projectId]);
      const { rows: capRows } = await client.query(SEQ_CAP_SQL);
      const { rows: snapshotRows } = await client.query(SNAPSHOT_SQL);
      const { rows } = await client.query(FREEZE_SQL, [
        projectId,
        message,
        author,
        capRows[0].cap,
        snapshotRows[0].snapshot,
      ]);
      await client.query('COMMIT');
      return toRecord(rows[0]);
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  /** Annotations written after the watermark of the newest version a training froze (see lastTrainedWatermark). */
  async annotationsSinceLastVersion(projectId: string): Promise<number> {
    const { rows } = await this.pool.query(
      `SELECT count(*)::int AS n FROM annotations WHERE project_id = $1 AND seq > ${lastTrainedWatermark('$1')}`,
      [projectId],
    );
    return rows[0].n as number;
  }

  /** annotationsSinceLastVersion of every project that has any, by project id. */
  async annotationsSinceLastVersionPerProject(): Promise<Map<string, number>> {
    const { rows } = await this.pool.query(
      `SELECT p.id AS project_id, since.n FROM projects p
       CROSS JOIN LATERAL (SELECT count(*)::int AS n FROM annotations a
         WHERE a.project_id = p.id AND a.seq > ${lastTrainedWatermark('p.id')}) since
       WHERE since.n > 0`,
    );
    return new Map(rows.map((row) => [row.project_id as string, row.n as number]));
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

  /** How many items were added, changed and removed going from version `from` to version `to`. */
  async diffCounts(
    projectId: string,
    from: VersionCut,
    to: VersionCut,
  ): Promise<Record<LabelChange, number>> {
    const { rows } = await this.pool.query(
      `${DIFF_ROWS_SQL}
       SELECT count(*) FILTER (WHERE change = 'added')::int AS added,
              count(*) FILTER (WHERE change = 'changed')::int AS changed,
              count(*) FILTER (WHERE change = 'removed')::int AS removed
       FROM changes`,
      [projectId, from.watermark, from.snapshot, to.watermark, to.snapshot],
    );
    return rows[0];
  }

  /** One page of the differing items, by item id after `cursor`, optionally of one kind of change. */
  async diffPage(
    projectId: string,
    from: VersionCut,
    to: VersionCut,
    page: { limit: number; cursor?: string; change?: LabelChange },
  ): Promise<LabelDiffRow[]> {
    const { rows } = await this.pool.query(
      `${DIFF_ROWS_SQL}
       SELECT c.item_id, i.external_id, c.change, c.before, c.after
       FROM changes c JOIN items i ON i.id = c.item_id
       WHERE ($6::uuid IS NULL OR c.item_id > $6::uuid) AND ($7::text IS NULL OR c.change = $7::text)
       ORDER BY c.item_id LIMIT $8`,
      [
        projectId,
        from.watermark,
        from.snapshot,
        to.watermark,
        to.snapshot,
        page.cursor ?? null,
        page.change ?? null,
        page.limit,
      ],
    );
    return rows.map((row) => ({
      itemId: row.item_id,
      externalId: row.external_id,
      change: row.change,
      before: row.before,
      after: row.after,
    }));
  }

  /** One keyset batch of the items labeled in the version, by id after `after` (from the start when null). */
  async exportBatch(
    projectId: string,
    cut: VersionCut,
    after: string | null,
    limit: number,
  ): Promise<ExportedLabel[]> {
    const { rows } = await this.pool.query({
      name: 'dataset_versions.export_batch',
      text: EXPORT_BATCH_SQL,
      values: [projectId, cut.watermark, after, limit, cut.snapshot],
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

  /** Every item labeled in the version (or now: CURRENT_LABELS), with the label it has there; by item id. */
  async labeledItems(
    projectId: string,
    cut: VersionCut,
    split?: 'pool' | 'holdout',
    sample?: LabeledSample,
  ): Promise<LabeledItem[]> {
    const labeled = `SELECT i.id, i.split, i.payload, i.object_key, l.label
      FROM (${LABELS_AT_SQL}) l JOIN items i ON i.id = l.item_id
      WHERE $4::"Split" IS NULL OR i.split = $4::"Split"`;
    // A sample is the first `rows` items in a seeded hash order of their ids, then ordered by id as the rest.
    const { rows } = sample
      ? await this.pool.query(
          `SELECT * FROM (${labeled} ORDER BY hashtextextended(i.id::text, $6::bigint), i.id LIMIT $5::int) chosen
           ORDER BY id`,
          [projectId, cut.watermark, cut.snapshot, split ?? null, sample.rows, sample.seed],
        )
      : await this.pool.query(`${labeled} ORDER BY i.id`, [
          projectId,
          cut.watermark,
          cut.snapshot,
          split ?? null,
        ]);
    return rows.map(toLabeledItem);
  }

  /**
   * One page of a version's labeled items in id order, the first `limit` after item id `after` (null: from
   * the start). For a reader that must not hold a large project's whole label set in memory at once.
   */
  async labeledItemsPage(
    projectId: string,
    cut: VersionCut,
    split: 'pool' | 'holdout',
    after: string | null,
    limit: number,
  ): Promise<LabeledItem[]> {
    const { rows } = await this.pool.query(
      `SELECT i.id, i.split, i.payload, i.object_key, l.label
       FROM (${after === null ? LABELS_AT_SQL : labelsAt(6)}) l JOIN items i ON i.id = l.item_id
       WHERE i.split = $4::"Split" ORDER BY l.item_id LIMIT $5::int`,
      [projectId, cut.watermark, cut.snapshot, split, limit, ...(after === null ? [] : [after])],
    );
    return rows.map(toLabeledItem);
  }
}

function toLabeledItem(row: Record<string, unknown>): LabeledItem {
  return {
    id: row.id as string,
    split: row.split as LabeledItem['split'],
    payload: row.payload as LabeledItem['payload'],
    objectKey: row.object_key as string | null,
    label: row.label as string,
  };
}
