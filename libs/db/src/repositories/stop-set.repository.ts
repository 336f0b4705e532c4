import { Inject, Injectable } from '@nestjs/common';
import { Pool } from 'pg';
import { PG_POOL } from '../db.tokens';
import type { PoolItem } from './predictions.repository';

/** How often a model predicted `current` on stop-set items where the model scored before it predicted `previous`. */
export interface AgreementCell {
  modelVersionId: string;
  /** The model's number: cells of successive models come in this order. */
  number: number;
  previous: string;
  current: string;
  count: number;
}

// Chosen once: the insert adds rows only while the project has none, under a per-project lock so two passes
// cannot both choose. The order is a seeded hash of the id, so the choice is reproducible.
const CHOOSE_SQL = `
INSERT INTO stop_set_items (project_id, item_id)
SELECT $1, i.id FROM items i
WHERE i.project_id = $1 AND i.split = 'pool' AND i.label IS NULL AND i.deleted_at IS NULL
  AND NOT EXISTS (SELECT 1 FROM stop_set_items s WHERE s.project_id = $1)
ORDER BY hashtextextended(i.id::text, $2), i.id
LIMIT $3
ON CONFLICT DO NOTHING`;

// Each scored model paired with the model scored before it (by number), and how their predicted classes on
// the stop set cross-tabulate. Deleted items drop out; an item one of the two did not predict is left out.
const AGREEMENT_SQL = `
WITH scored AS (
  SELECT m.id, m.number, lag(m.id) OVER (ORDER BY m.number) AS previous_id
  FROM model_versions m
  WHERE m.project_id = $1 AND EXISTS (SELECT 1 FROM stop_set_predictions s WHERE s.model_version_id = m.id)
)
SELECT sc.id AS model_version_id, sc.number, p.label AS previous, c.label AS current, count(*)::int AS count
FROM scored sc
JOIN stop_set_predictions c ON c.model_version_id = sc.id
JOIN stop_set_predictions p ON p.model_version_id = sc.previous_id AND p.item_id = c.item_id
JOIN items i ON i.id = c.item_id AND i.deleted_at IS NULL
GROUP BY sc.id, sc.number, p.label, c.label
ORDER BY sc.number`;

/**
 * The stop set (a fixed, seeded sample of a project's unlabeled pool items) and each scored model's predicted
 * class on it, for the stabilizing-predictions stopping signal.
 */
@Injectable()
export class StopSetRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /**
   * Chooses the project's stop set (up to `size` unlabeled pool items, seeded) unless it has one; a set once
   * chosen never changes. Returns its items that are not deleted, labeled since or not, in id order.
   */
  async ensure(projectId: string, seed: number, size: number): Promise<PoolItem[]> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`SELECT pg_advisory_xact_lock(hashtext('stop_set:' || $1))`, [projectId]);
      await client.query(CHOOSE_SQL, [projectId, String(seed), size]);
      const { rows } = await client.query(
        `SELECT i.id, i.payload, i.object_key FROM stop_set_items s JOIN items i ON i.id = s.item_id
         WHERE s.project_id = $1 AND i.deleted_at IS NULL ORDER BY i.id`,
        [projectId],
      );
      await client.query('COMMIT');
      return rows.map((row) => ({ id: row.id, payload: row.payload, objectKey: row.object_key }));
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  /** Whether the model's stop-set predictions are already recorded (a second pass of the same model). */
  async recorded(modelVersionId: string): Promise<boolean> {
    const { rows } = await this.pool.query(
      'SELECT EXISTS (SELECT 1 FROM stop_set_predictions WHERE model_version_id = $1) AS recorded',
      [modelVersionId],
    );
    return rows[0].recorded as boolean;
  }

  /** Records the model's predicted class on stop-set items, in one statement. */
  async record(modelVersionId: string, rows: readonly { itemId: string; label: string }[]): Promise<void> {
    if (rows.length === 0) return;
    await this.pool.query(
      `INSERT INTO stop_set_predictions (model_version_id, item_id, label)
       SELECT $1, u.item_id, u.label FROM unnest($2::uuid[], $3::text[]) AS u(item_id, label)
       ON CONFLICT (model_version_id, item_id) DO UPDATE SET label = EXCLUDED.label`,
      [modelVersionId, rows.map((r) => r.itemId), rows.map((r) => r.label)],
    );
  }

  /** Items in the project's stop set that are not deleted (0 before its first ranking pass). */
  async size(projectId: string): Promise<number> {
    const { rows } = await this.pool.query(
      `SELECT count(*)::int AS size FROM stop_set_items s JOIN items i ON i.id = s.item_id
       WHERE s.project_id = $1 AND i.deleted_at IS NULL`,
      [projectId],
    );
    return rows[0].size as number;
  }

  /** Per scored model after the first: its cross-tabulation with the model scored before it. */
  async agreementCells(projectId: string): Promise<AgreementCell[]> {
    const { rows } = await this.pool.query(AGREEMENT_SQL, [projectId]);
    return rows.map((row) => ({
      modelVersionId: row.model_version_id as string,
      number: row.number as number,
      previous: row.previous as string,
      current: row.current as string,
      count: row.count as number,
    }));
  }
}
