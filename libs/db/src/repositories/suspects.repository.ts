import { Inject, Injectable } from '@nestjs/common';
import { Pool } from 'pg';
import { PG_POOL } from '../db.tokens';

/** One likely label error found by a model version's suspects refresh. */
export interface SuspectRow {
  itemId: string;
  givenLabel: string;
  suggestedLabel: string;
  /** Higher means more likely mislabeled. */
  score: number;
}

/** A suspect as listed: with its item, whose current label is still the given one. */
export interface SuspectView extends SuspectRow {
  externalId: string;
  payload: unknown;
  modelVersionId: string;
  createdAt: Date;
}

// The rows travel as parallel arrays: one statement whatever their number.
const INSERT_SQL = `
INSERT INTO suspects (project_id, item_id, model_version_id, given_label, suggested_label, score)
SELECT $1, u.item_id, $2, u.given_label, u.suggested_label, u.score
FROM unnest($3::uuid[], $4::text[], $5::text[], $6::float8[]) AS u(item_id, given_label, suggested_label, score)`;

@Injectable()
export class SuspectsRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /** Replaces the project's suspects with these rows, in one transaction (readers see the old or the new set). */
  async replace(projectId: string, modelVersionId: string, rows: readonly SuspectRow[]): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('DELETE FROM suspects WHERE project_id = $1', [projectId]);
      await client.query(INSERT_SQL, [
        projectId,
        modelVersionId,
        rows.map((r) => r.itemId),
        rows.map((r) => r.givenLabel),
        rows.map((r) => r.suggestedLabel),
        rows.map((r) => r.score),
      ]);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  /**
   * The project's suspects by score, highest first (ties by item id), after the suspect of item `cursor`;
   * items whose current label is no longer the given one (relabeled since) are left out.
   */
  async list(projectId: string, limit: number, cursor?: string): Promise<SuspectView[]> {
    const { rows } = await this.pool.query(
      `SELECT s.item_id, s.given_label, s.suggested_label, s.score, s.model_version_id, s.created_at,
              i.external_id, i.payload
       FROM suspects s JOIN items i ON i.id = s.item_id
       WHERE s.project_id = $1 AND i.label = s.given_label
         AND ($2::uuid IS NULL OR (s.score, s.item_id) <
           (SELECT c.score, c.item_id FROM suspects c WHERE c.item_id = $2::uuid AND c.project_id = $1))
       ORDER BY s.score DESC, s.item_id DESC LIMIT $3`,
      [projectId, cursor ?? null, limit],
    );
    return rows.map((row) => ({
      itemId: row.item_id,
      externalId: row.external_id,
      payload: row.payload,
      givenLabel: row.given_label,
      suggestedLabel: row.suggested_label,
      score: row.score,
      modelVersionId: row.model_version_id,
      createdAt: row.created_at,
    }));
  }
}
