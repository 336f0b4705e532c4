import { Inject, Injectable } from '@nestjs/common';
import { Pool } from 'pg';
import { PG_POOL } from '../db.tokens';

/** An unlabeled pool item, as the scorer reads it. */
export interface PoolItem {
  id: string;
  payload: unknown;
  objectKey: string | null;
}

/** One item's prediction by a model; `probabilities` in the order of the model's labels. */
export interface PredictionRow {
  itemId: string;
  label: string;
  probability: number;
  probabilities: ArrayLike<number>;
  uncertainty: number;
}

// One statement per batch: the rows travel as parallel arrays; each row's class probabilities are its
// slice of one flat array (a float8[][] would unnest to scalars).
const UPSERT_SQL = `
INSERT INTO predictions (project_id, item_id, model_version_id, label, probability, probabilities, uncertainty)
SELECT $1, u.item_id, $2, u.label, u.probability, ($6::float8[])[(u.n - 1) * $7 + 1 : u.n * $7], u.uncertainty
FROM unnest($3::uuid[], $4::text[], $5::float8[], $8::float8[]) WITH ORDINALITY
  AS u(item_id, label, probability, uncertainty, n)
ON CONFLICT (item_id) DO UPDATE SET model_version_id = EXCLUDED.model_version_id, label = EXCLUDED.label,
  probability = EXCLUDED.probability, probabilities = EXCLUDED.probabilities,
  uncertainty = EXCLUDED.uncertainty, created_at = now()`;

@Injectable()
export class PredictionsRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /**
   * The next page of the project's unlabeled pool after `afterId` (keyset by id, so a page costs the same
   * anywhere in a large pool and memory stays one page).
   */
  async unlabeledPoolPage(projectId: string, afterId: string | null, limit: number): Promise<PoolItem[]> {
    const { rows } = await this.pool.query(
      `SELECT id, payload, object_key FROM items
       WHERE project_id = $1 AND split = 'pool' AND label IS NULL AND deleted_at IS NULL
         AND ($2::uuid IS NULL OR id > $2::uuid)
       ORDER BY id LIMIT $3`,
      [projectId, afterId, limit],
    );
    return rows.map((row) => ({ id: row.id, payload: row.payload, objectKey: row.object_key }));
  }

  /**
   * The next page of the project's unlabeled pool items that have no prediction yet (imported after the
   * last scoring), keyset by id like unlabeledPoolPage.
   */
  async unscoredPoolPage(projectId: string, afterId: string | null, limit: number): Promise<PoolItem[]> {
    const { rows } = await this.pool.query(
      `SELECT i.id, i.payload, i.object_key FROM items i
       WHERE i.project_id = $1 AND i.split = 'pool' AND i.label IS NULL AND i.deleted_at IS NULL
         AND ($2::uuid IS NULL OR i.id > $2::uuid)
         AND NOT EXISTS (SELECT 1 FROM predictions p WHERE p.item_id = i.id)
       ORDER BY i.id LIMIT $3`,
      [projectId, afterId, limit],
    );
    return rows.map((row) => ({ id: row.id, payload: row.payload, objectKey: row.object_key }));
  }

  /**
   * The ids of at most `limit` unlabeled pool items for a bounded ranking pass: the items without a prediction
   * first (in id order: they need one whatever the ranking), then a random sample of the rest. The order is
   * a hash of the item id and `seed`, so the same seed draws the same sample.
   */
  async poolSample(projectId: string, seed: number, limit: number): Promise<string[]> {
    const { rows } = await this.pool.query<{ id: string }>(
      `SELECT i.id FROM items i LEFT JOIN predictions p ON p.item_id = i.id
       WHERE i.project_id = $1 AND i.split = 'pool' AND i.label IS NULL AND i.deleted_at IS NULL
       ORDER BY p.item_id IS NOT NULL, CASE WHEN p.item_id IS NULL THEN 0 ELSE hashtextextended(i.id::text, $2) END, i.id
       LIMIT $3`,
      [projectId, String(seed), limit],
    );
    return rows.map((row) => row.id);
  }

  /** The given items that are still unlabeled, in id order. */
  async unlabeledItems(projectId: string, ids: readonly string[]): Promise<PoolItem[]> {
    const { rows } = await this.pool.query(
      `SELECT id, payload, object_key FROM items
       WHERE project_id = $1 AND id = ANY($2::uuid[]) AND label IS NULL AND deleted_at IS NULL ORDER BY id`,
      [projectId, ids],
    );
    return rows.map((row) => ({ id: row.id, payload: row.payload, objectKey: row.object_key }));
  }

  /** Writes (or replaces) the predictions of a batch of items in one statement. */
  async upsert(
    projectId: string,
    modelVersionId: string,
    numClasses: number,
    rows: readonly PredictionRow[],
  ): Promise<void> {
    if (rows.length === 0) return;
    const flat: number[] = [];
    for (const row of rows) for (let c = 0; c < numClasses; c++) flat.push(row.probabilities[c]);
    await this.pool.query({
      name: 'predictions.upsert',
      text: UPSERT_SQL,
      values: [
        projectId,
        modelVersionId,
        rows.map((r) => r.itemId),
        rows.map((r) => r.label),
        rows.map((r) => r.probability),
        flat,
        numClasses,
        rows.map((r) => r.uncertainty),
      ],
    });
  }
}
