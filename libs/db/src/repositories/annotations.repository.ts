import { Inject, Injectable } from '@nestjs/common';
import { Pool } from 'pg';
import { PG_POOL } from '../db.tokens';

export type AnnotationSource = 'human' | 'import' | 'review';

export interface AnnotationRecord {
  id: string;
  seq: string;
  itemId: string;
  label: string;
  annotator: string;
  leadTimeMs: number | null;
  source: AnnotationSource;
  createdAt: Date;
}

// Appends to the log, refreshes the item's label cache (unless a newer annotation
// got there first) and closes the item's open task, all in one statement.
const APPEND_SQL = `
WITH target AS (
  SELECT i.id, i.project_id FROM items i JOIN projects p ON p.id = i.project_id
  WHERE i.id = $1 AND $2 = ANY(p.labels) AND ($6::uuid IS NULL OR i.project_id = $6::uuid)
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

function toRecord(row: Record<string, unknown>): AnnotationRecord {
  return {
    id: row.id as string,
    seq: row.seq as string,
    itemId: row.item_id as string,
    label: row.label as string,
    annotator: row.annotator as string,
    leadTimeMs: row.lead_time_ms as number | null,
    source: row.source as AnnotationSource,
    createdAt: row.created_at as Date,
  };
}

@Injectable()
export class AnnotationsRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /** Null when the item is missing, out of scope or the label is not in the project's set. */
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

  async listForItem(itemId: string): Promise<AnnotationRecord[]> {
    const result = await this.pool.query(
      `SELECT id, seq::text, item_id, label, annotator, lead_time_ms, source, created_at
       FROM annotations WHERE item_id = $1 ORDER BY seq`,
      [itemId],
    );
    return result.rows.map(toRecord);
  }
}
