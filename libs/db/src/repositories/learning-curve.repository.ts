import { Inject, Injectable } from '@nestjs/common';
import { Pool } from 'pg';
import { PG_POOL } from '../db.tokens';

/** A ready trained model as a point of the project's learning curve. */
export interface CurveModel {
  modelVersionId: string;
  number: number;
  promoted: boolean;
  /** Labeled pool items in the dataset version it trained on. */
  labels: number;
  accuracy: number;
  holdoutRows: number;
}

/**
 * The learning curve's points: ready models trained here whose holdout measured an accuracy, by number.
 * Imported models (no local dataset version) and models without a labeled holdout have no point.
 */
@Injectable()
export class LearningCurveRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  async points(projectId: string): Promise<CurveModel[]> {
    const { rows } = await this.pool.query(
      `SELECT m.id, m.number, m.promoted, (d.counts ->> 'pool')::int AS labels,
              (m.metrics ->> 'accuracy')::float8 AS accuracy, coalesce((m.metrics ->> 'holdoutRows')::int, 0) AS holdout_rows
       FROM model_versions m JOIN dataset_versions d ON d.id = m.dataset_version_id
       WHERE m.project_id = $1 AND m.status = 'ready' AND jsonb_typeof(m.metrics -> 'accuracy') = 'number'
       ORDER BY m.number`,
      [projectId],
    );
    return rows.map((row) => ({
      modelVersionId: row.id as string,
      number: row.number as number,
      promoted: row.promoted as boolean,
      labels: row.labels as number,
      accuracy: Number(row.accuracy),
      holdoutRows: row.holdout_rows as number,
    }));
  }
}
