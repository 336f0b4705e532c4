import { Inject, Injectable } from '@nestjs/common';
import { Pool } from 'pg';
import { PG_POOL } from '../db.tokens';
import type { VersionCut } from './dataset-versions.repository';

/** An item as the Label Studio connector needs it: identity, input and cold-start place. */
export interface LabelStudioItem {
  id: string;
  externalId: string;
  payload: unknown;
  objectKey: string | null;
  coldPriority: number;
  /** The item's current label (label cache), null when unlabeled. */
  label: string | null;
}

/** One item of a Label Studio export: its label (now or as of a watermark) and the stored prediction. */
export interface LabelStudioExportRow {
  id: string;
  externalId: string;
  payload: unknown;
  objectKey: string | null;
  metadata: unknown;
  label: string | null;
  prediction: { label: string; probabilities: number[]; uncertainty: number; modelNumber: number } | null;
}

// Each item's label in the dataset version: its newest annotation there (a NULL label, a retraction, means
// unlabeled; see VersionCut). Without a version, the item's label cache, and deleted items left out.
const EXPORT_PAGE_SQL = `
SELECT i.id, i.external_id, i.payload, i.object_key, i.metadata,
  CASE WHEN $2::bigint IS NULL THEN i.label ELSE (
    SELECT a.label FROM annotations a WHERE a.project_id = $1 AND a.item_id = i.id AND a.seq <= $2::bigint
      AND ($5::pg_snapshot IS NULL OR a.xid IS NULL OR pg_visible_in_snapshot(a.xid, $5::pg_snapshot))
    ORDER BY a.seq DESC LIMIT 1) END AS label,
  p.label AS p_label, p.probabilities AS p_probabilities, p.uncertainty AS p_uncertainty, m.number AS p_model
FROM items i
LEFT JOIN predictions p ON p.item_id = i.id
LEFT JOIN model_versions m ON m.id = p.model_version_id
WHERE i.project_id = $1 AND ($3::uuid IS NULL OR i.id > $3::uuid) AND ($2::bigint IS NOT NULL OR i.deleted_at IS NULL)
ORDER BY i.id LIMIT $4`;

@Injectable()
export class LabelStudioItemsRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /** The project's items with these external ids (any order). */
  async byExternalIds(projectId: string, externalIds: readonly string[]): Promise<LabelStudioItem[]> {
    if (externalIds.length === 0) return [];
    const { rows } = await this.pool.query({
      name: 'label-studio-items.by-external-ids',
      text: `SELECT id, external_id, payload, object_key, cold_priority, label FROM items
             WHERE project_id = $1 AND external_id = ANY($2::text[])`,
      values: [projectId, externalIds],
    });
    return rows.map((row) => ({
      id: row.id,
      externalId: row.external_id,
      payload: row.payload,
      objectKey: row.object_key,
      coldPriority: row.cold_priority,
      label: row.label,
    }));
  }

  /** A page of the project's items by id for an export; `cut` null = labels as they are now. */
  async exportPage(
    projectId: string,
    cut: VersionCut | null,
    afterId: string | null,
    limit: number,
  ): Promise<LabelStudioExportRow[]> {
    const { rows } = await this.pool.query(EXPORT_PAGE_SQL, [
      projectId,
      cut?.watermark ?? null,
      afterId,
      limit,
      cut?.snapshot ?? null,
    ]);
    return rows.map((row) => ({
      id: row.id,
      externalId: row.external_id,
      payload: row.payload,
      objectKey: row.object_key,
      metadata: row.metadata,
      label: row.label,
      prediction:
        row.p_label === null
          ? null
          : {
              label: row.p_label,
              probabilities: row.p_probabilities,
              uncertainty: row.p_uncertainty,
              modelNumber: row.p_model,
            },
    }));
  }
}
