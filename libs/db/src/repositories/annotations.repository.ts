import { Inject, Injectable } from '@nestjs/common';
import { Pool } from 'pg';
import { PG_POOL } from '../db.tokens';

export type AnnotationSource = 'human' | 'import' | 'review';

export interface AnnotationRecord {
  id: string;
  seq: string;
  itemId: string;
  /** Null for a retraction: the item is unlabeled from this annotation on. */
  label: string | null;
  annotator: string;
  leadTimeMs: number | null;
  source: AnnotationSource;
  createdAt: Date;
}

// Appends to the log, refreshes the item's label cache (unless a newer annotation
// got there first) and closes the item's open task, all in one statement. The item's
// row is locked before the annotation is written, so a concurrent item delete either
// comes after it or is seen (deleted items take no annotations; see ItemsRepository.delete).
const APPEND_SQL = `
WITH target AS (
  SELECT i.id, i.project_id FROM items i JOIN projects p ON p.id = i.project_id
  WHERE i.id = $1 AND i.deleted_at IS NULL AND $2 = ANY(p.labels) AND ($6::uuid IS NULL OR i.project_id = $6::uuid)
  FOR UPDATE OF i
), written AS (
  INSERT INTO annotations (project_id, item_id, label, annotator, lead_time_ms, source)
  SELECT project_id, id, $2, $3, $4, $5::"AnnotationSource" FROM target
  RETURNING id, seq, project_id, item_id, label, annotator, lead_time_ms, source, created_at
), relabeled AS (
  UPDATE items SET label = $2, labeled_at = written.created_at FROM written
  WHERE items.id = written.item_id AND (items.labeled_at IS NULL OR items.labeled_at <= written.created_at)
), closed AS (
  UPDATE tasks SET status = 'done', lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
  FROM written WHERE tasks.item_id = written.item_id AND tasks.status IN ('open', 'leased')
)
SELECT id, seq::text, project_id, item_id, label, annotator, lead_time_ms, source, created_at FROM written`;

// A retraction appends a NULL label and clears the item's label cache (unless a newer
// annotation got there first; labeled_at keeps the time of the cache's last change so
// that guard still orders writes). The item goes back to the unlabeled pool: its
// finished task is dropped so the cold-start refill or the scorer can queue it again.
const RETRACT_SQL = `
WITH target AS (
  SELECT i.id, i.project_id FROM items i
  WHERE i.id = $1 AND i.deleted_at IS NULL AND ($4::uuid IS NULL OR i.project_id = $4::uuid)
  FOR UPDATE
), written AS (
  INSERT INTO annotations (project_id, item_id, label, annotator, source)
  SELECT project_id, id, NULL, $2, $3::"AnnotationSource" FROM target
  RETURNING id, seq, project_id, item_id, label, annotator, lead_time_ms, source, created_at
), unlabeled AS (
  UPDATE items SET label = NULL, labeled_at = written.created_at FROM written
  WHERE items.id = written.item_id AND (items.labeled_at IS NULL OR items.labeled_at <= written.created_at)
), requeued AS (
  DELETE FROM tasks USING written WHERE tasks.item_id = written.item_id AND tasks.status = 'done'
)
SELECT id, seq::text, project_id, item_id, label, annotator, lead_time_ms, source, created_at FROM written`;

function toRecord(row: Record<string, unknown>): AnnotationRecord {
  return {
    id: row.id as string,
    seq: row.seq as string,
    itemId: row.item_id as string,
    label: row.label as string | null,
    annotator: row.annotator as string,
    leadTimeMs: row.lead_time_ms as number | null,
    source: row.source as AnnotationSource,
    createdAt: row.created_at as Date,
  };
}

@Injectable()
export class AnnotationsRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /** Null when the item is missing or deleted, out of scope, or the label is not in the project's set. */
  async appendForItem(input: {
    itemId: string;
    label: string;
    annotator: string;
    leadTimeMs: number | null;
    source: AnnotationSource;
    scopeProjectId: string | null;
  }): Promise<(AnnotationRecord & { projectId: string }) | null> {
    // Named: planned once per connection (see TasksRepository).
    const result = await this.pool.query({
      name: 'annotations.append',
      text: APPEND_SQL,
      values: [
        input.itemId,
        input.label,
        input.annotator,
        input.leadTimeMs,
        input.source,
        input.scopeProjectId,
      ],
    });
    const row = result.rows[0];
    return row ? { ...toRecord(row), projectId: row.project_id } : null;
  }

  /** Appends a retraction (label NULL) for the item; clears the item's label cache. Null when the item is missing, deleted or out of scope. */
  async retractForItem(input: {
    itemId: string;
    annotator: string;
    source: AnnotationSource;
    scopeProjectId: string | null;
  }): Promise<(AnnotationRecord & { projectId: string }) | null> {
    const result = await this.pool.query(RETRACT_SQL, [
      input.itemId,
      input.annotator,
      input.source,
      input.scopeProjectId,
    ]);
    const row = result.rows[0];
    return row ? { ...toRecord(row), projectId: row.project_id } : null;
  }

  /**
   * An annotation with its project and the label its item had just before it (null when
   * the item was unlabeled then: never labeled, or retracted).
   */
  async findWithPriorLabel(
    id: string,
  ): Promise<{ annotation: AnnotationRecord; projectId: string; priorLabel: string | null } | null> {
    const { rows } = await this.pool.query(
      `SELECT a.id, a.seq::text, a.project_id, a.item_id, a.label, a.annotator, a.lead_time_ms, a.source, a.created_at,
              (SELECT p.label FROM annotations p
               WHERE p.project_id = a.project_id AND p.item_id = a.item_id AND p.seq < a.seq
               ORDER BY p.seq DESC LIMIT 1) AS prior_label
       FROM annotations a WHERE a.id = $1`,
      [id],
    );
    const row = rows[0];
    return row ? { annotation: toRecord(row), projectId: row.project_id, priorLabel: row.prior_label } : null;
  }

  /** An item's log newest first, each entry with the label before it; `beforeSeq` pages on. */
  // The project id lets both item queries use the (project_id, item_id, seq) index.
  async historyForItem(
    projectId: string,
    itemId: string,
    limit: number,
    beforeSeq?: string,
  ): Promise<(AnnotationRecord & { previousLabel: string | null })[]> {
    const { rows } = await this.pool.query(
      `SELECT * FROM (
         SELECT id, seq, item_id, label, annotator, lead_time_ms, source, created_at,
                lag(label) OVER (ORDER BY seq) AS previous_label
         FROM annotations WHERE project_id = $4 AND item_id = $1
       ) h
       WHERE ($2::bigint IS NULL OR seq < $2::bigint)
       ORDER BY seq DESC LIMIT $3`,
      [itemId, beforeSeq ?? null, limit, projectId],
    );
    return rows.map((row) => ({
      ...toRecord({ ...row, seq: String(row.seq) }),
      previousLabel: row.previous_label,
    }));
  }

  async listForItem(projectId: string, itemId: string): Promise<AnnotationRecord[]> {
    const result = await this.pool.query(
      `SELECT id, seq::text, item_id, label, annotator, lead_time_ms, source, created_at
       FROM annotations WHERE project_id = $2 AND item_id = $1 ORDER BY seq`,
      [itemId, projectId],
    );
    return result.rows.map(toRecord);
  }
}
