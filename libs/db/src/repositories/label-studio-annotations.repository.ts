import { Inject, Injectable } from '@nestjs/common';
import { Pool } from 'pg';
import { PG_POOL } from '../db.tokens';

export interface LabelStudioAnnotationRecord {
  lsAnnotationId: string;
  itemId: string;
  /** Null: a skipped task or no choice made. */
  label: string | null;
  annotator: string;
  lsUpdatedAt: string;
  deleted: boolean;
}

function toRecord(row: Record<string, unknown>): LabelStudioAnnotationRecord {
  return {
    lsAnnotationId: row.ls_annotation_id as string,
    itemId: row.item_id as string,
    label: row.label as string | null,
    annotator: row.annotator as string,
    lsUpdatedAt: row.ls_updated_at as string,
    deleted: row.deleted as boolean,
  };
}

/** Label Studio annotations as last seen, so a deletion (ids only) finds its item and what remains. */
@Injectable()
export class LabelStudioAnnotationsRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /** Upserts the annotation's current state; returns the state it had before (null when new). */
  async record(
    projectId: string,
    input: Omit<LabelStudioAnnotationRecord, 'deleted'>,
  ): Promise<LabelStudioAnnotationRecord | null> {
    const { rows } = await this.pool.query(
      `WITH previous AS (
         SELECT ls_annotation_id::text, item_id, label, annotator, ls_updated_at, deleted
         FROM label_studio_annotations WHERE project_id = $1 AND ls_annotation_id = $2::bigint
       ), written AS (
         INSERT INTO label_studio_annotations
           (project_id, ls_annotation_id, item_id, label, annotator, ls_updated_at)
         VALUES ($1, $2::bigint, $3, $4, $5, $6)
         ON CONFLICT (project_id, ls_annotation_id) DO UPDATE
           SET item_id = EXCLUDED.item_id, label = EXCLUDED.label, annotator = EXCLUDED.annotator,
               ls_updated_at = EXCLUDED.ls_updated_at, deleted = false, updated_at = now()
       )
       SELECT * FROM previous`,
      [projectId, input.lsAnnotationId, input.itemId, input.label, input.annotator, input.lsUpdatedAt],
    );
    return rows[0] ? toRecord(rows[0]) : null;
  }

  /** Marks the annotation deleted; returns it as it was, or null when labelloop never saw it (or it was gone). */
  async markDeleted(projectId: string, lsAnnotationId: string): Promise<LabelStudioAnnotationRecord | null> {
    const { rows } = await this.pool.query(
      `UPDATE label_studio_annotations SET deleted = true, updated_at = now()
       WHERE project_id = $1 AND ls_annotation_id = $2::bigint AND NOT deleted
       RETURNING ls_annotation_id::text, item_id, label, annotator, ls_updated_at, false AS deleted`,
      [projectId, lsAnnotationId],
    );
    return rows[0] ? toRecord(rows[0]) : null;
  }

  /** The item's most recently changed Label Studio annotation that still carries a label, if any. */
  async newestLive(itemId: string): Promise<LabelStudioAnnotationRecord | null> {
    const { rows } = await this.pool.query(
      `SELECT a.ls_annotation_id::text, a.item_id, a.label, a.annotator, a.ls_updated_at, a.deleted
       FROM label_studio_annotations a WHERE a.item_id = $1 AND NOT a.deleted AND a.label IS NOT NULL
       ORDER BY a.updated_at DESC, a.ls_annotation_id DESC LIMIT 1`,
      [itemId],
    );
    return rows[0] ? toRecord(rows[0]) : null;
  }
}
