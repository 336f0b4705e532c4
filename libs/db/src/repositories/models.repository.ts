import { Inject, Injectable } from '@nestjs/common';
import { Pool, type PoolClient } from 'pg';
import { PG_POOL } from '../db.tokens';

export type ModelStatus = 'training' | 'ready' | 'failed';

/** `trained` by this service's trainer, or `imported` from a model bundle. */
export type ModelSource = 'trained' | 'imported';

/** Where an imported model was exported from (ids of the other installation, for the record). */
export interface ModelOrigin {
  projectId: string | null;
  modelVersionId: string | null;
  number: number | null;
  datasetVersion: number | null;
  /** The metrics the bundle came with, measured on the holdout of the project it was trained in. */
  metrics?: unknown;
}

export interface ModelVersionRecord {
  id: string;
  projectId: string;
  number: number;
  runId: string;
  status: ModelStatus;
  spec: unknown;
  metrics: Record<string, unknown> | null;
  backend: string | null;
  trainMs: number | null;
  artifactKey: string | null;
  promoted: boolean;
  error: string | null;
  datasetVersionId: string | null;
  /** Number of the dataset version it was trained on (null for imported models: see origin). */
  datasetVersion: number | null;
  source: ModelSource;
  origin: ModelOrigin | null;
  createdAt: Date;
  readyAt: Date | null;
}

export interface ReadyModel {
  metrics: Record<string, unknown>;
  backend: string;
  trainMs: number;
  artifactKey: string;
}

/** An imported model: already stored under `artifactKey`, recorded ready in one step. */
export interface ImportedModel {
  id: string;
  spec: object;
  metrics: Record<string, unknown> | null;
  backend: string;
  trainMs: number | null;
  artifactKey: string;
  origin: ModelOrigin;
}

const COLUMNS = `m.id, m.project_id, m.number, m.run_id, m.status, m.spec, m.metrics, m.backend, m.train_ms,
  m.artifact_key, m.promoted, m.error, m.dataset_version_id, d.number AS dataset_number, m.source, m.origin,
  m.created_at, m.ready_at`;
const FROM = 'model_versions m LEFT JOIN dataset_versions d ON d.id = m.dataset_version_id';

// A retried job has the same run id: it gets its row back (status training again, unless the run already
// finished: a ready model stays as it is) instead of a new one. Only a row of the same project is ever
// taken back: a run id of another project's row returns nothing (startRun refuses it).
const START_SQL = `
INSERT INTO model_versions (project_id, number, run_id, status, spec)
SELECT $1, coalesce(max(number), 0) + 1, $2, 'training', $3::jsonb FROM model_versions WHERE project_id = $1
ON CONFLICT (run_id) DO UPDATE
  SET status = CASE WHEN model_versions.status = 'ready' THEN 'ready'::"ModelStatus" ELSE 'training' END,
      error = NULL
  WHERE model_versions.project_id = EXCLUDED.project_id
RETURNING id`;

function toRecord(row: Record<string, unknown>): ModelVersionRecord {
  return {
    id: row.id as string,
    projectId: row.project_id as string,
    number: row.number as number,
    runId: row.run_id as string,
    status: row.status as ModelStatus,
    spec: row.spec,
    metrics: row.metrics as Record<string, unknown> | null,
    backend: row.backend as string | null,
    trainMs: row.train_ms as number | null,
    artifactKey: row.artifact_key as string | null,
    promoted: row.promoted as boolean,
    error: row.error as string | null,
    datasetVersionId: row.dataset_version_id as string | null,
    datasetVersion: row.dataset_number as number | null,
    source: row.source as ModelSource,
    origin: row.origin as ModelOrigin | null,
    createdAt: row.created_at as Date,
    readyAt: row.ready_at as Date | null,
  };
}

/** A model's holdout accuracy and how many labeled holdout items measured it (null: none did). */
export interface HoldoutScore {
  accuracy: number | null;
  rows: number;
}

/** One-sided 95%: how many standard errors below the promoted model's accuracy still count as noise. */
const WORSE_Z = 1.645;

/**
 * The newest model (trained on more labels) replaces the promoted one unless its holdout says it is worse:
 * its accuracy is below the promoted model's by more than the noise of the two measurements (WORSE_Z
 * standard errors of the difference of two proportions, pooled). So a small holdout, whose accuracies jump
 * by several points from model to model, does not freeze the queue on an old model, and a large one still
 * keeps a clearly worse model out. Without a holdout measurement on either side the newest is promoted.
 * `promoted` undefined: none is promoted yet.
 */
export function shouldPromote(candidate: HoldoutScore, promoted: HoldoutScore | undefined): boolean {
  if (!promoted || candidate.accuracy === null || promoted.accuracy === null) return true;
  const n1 = Math.max(candidate.rows, 1);
  const n2 = Math.max(promoted.rows, 1);
  const pooled = (candidate.accuracy * n1 + promoted.accuracy * n2) / (n1 + n2);
  const variance = Math.max(pooled * (1 - pooled), 1 / (n1 + n2));
  const noise = WORSE_Z * Math.sqrt(variance * (1 / n1 + 1 / n2));
  return candidate.accuracy >= promoted.accuracy - noise;
}

@Injectable()
export class ModelsRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /**
   * The run's row in status 'training': created with the next number, or the retried run's row reset
   * (a run that already got to 'ready' is returned as it is).
   */
  async startRun(projectId: string, runId: string, spec: object): Promise<ModelVersionRecord> {
    return this.inProjectLock(projectId, async (client) => {
      const { rows } = await client.query(START_SQL, [projectId, runId, JSON.stringify(spec)]);
      if (rows.length === 0) throw new Error(`run id ${runId} belongs to a model of another project`);
      return (await this.find(client, rows[0].id as string))!;
    });
  }

  async attachDatasetVersion(id: string, datasetVersionId: string): Promise<void> {
    await this.pool.query('UPDATE model_versions SET dataset_version_id = $2 WHERE id = $1', [
      id,
      datasetVersionId,
    ]);
  }

  /**
   * Marks the model ready (its artifact is stored) and, in the same transaction, promotes it unless its
   * holdout says it is worse than the promoted model (shouldPromote). Returns whether it was promoted.
   */
  async completeRun(projectId: string, id: string, ready: ReadyModel): Promise<boolean> {
    return this.inProjectLock(projectId, async (client) => {
      await client.query(
        `UPDATE model_versions SET status = 'ready', metrics = $2::jsonb, backend = $3, train_ms = $4,
           artifact_key = $5, error = NULL, ready_at = now() WHERE id = $1`,
        [id, JSON.stringify(ready.metrics), ready.backend, ready.trainMs, ready.artifactKey],
      );
      const { rows } = await client.query(
        `SELECT (metrics ->> 'accuracy')::float8 AS accuracy, coalesce((metrics ->> 'holdoutRows')::int, 0) AS rows
         FROM model_versions WHERE project_id = $1 AND promoted AND id <> $2`,
        [projectId, id],
      );
      const current = rows[0] as HoldoutScore | undefined;
      const accuracy = typeof ready.metrics.accuracy === 'number' ? ready.metrics.accuracy : null;
      const holdoutRows = typeof ready.metrics.holdoutRows === 'number' ? ready.metrics.holdoutRows : 0;
      if (!shouldPromote({ accuracy, rows: holdoutRows }, current)) return false;
      await client.query(
        'UPDATE model_versions SET promoted = (id = $2) WHERE project_id = $1 AND (promoted OR id = $2)',
        [projectId, id],
      );
      return true;
    });
  }

  async failRun(id: string, error: string): Promise<void> {
    await this.pool.query(`UPDATE model_versions SET status = 'failed', error = $2 WHERE id = $1`, [
      id,
      error,
    ]);
  }

  /** The project's promoted model, if any. */
  async promoted(projectId: string): Promise<ModelVersionRecord | null> {
    const { rows } = await this.pool.query(
      `SELECT ${COLUMNS} FROM ${FROM}
       WHERE m.project_id = $1 AND m.promoted`,
      [projectId],
    );
    return rows[0] ? toRecord(rows[0]) : null;
  }

  /** Holdout accuracy of every project's promoted model (one row per project; null without a holdout). */
  async promotedAccuracies(): Promise<{ projectId: string; accuracy: number | null }[]> {
    const { rows } = await this.pool.query(
      `SELECT project_id, (metrics->>'accuracy')::float8 AS accuracy FROM model_versions WHERE promoted`,
    );
    return rows.map((row) => ({
      projectId: row.project_id as string,
      accuracy: row.accuracy === null ? null : Number(row.accuracy),
    }));
  }

  /** Newest first; `beforeNumber` continues a page (the last number of the previous one). */
  async list(projectId: string, limit: number, beforeNumber?: number): Promise<ModelVersionRecord[]> {
    const { rows } = await this.pool.query(
      `SELECT ${COLUMNS} FROM ${FROM}
       WHERE m.project_id = $1 AND ($3::int IS NULL OR m.number < $3) ORDER BY m.number DESC LIMIT $2`,
      [projectId, limit, beforeNumber ?? null],
    );
    return rows.map(toRecord);
  }

  async findById(id: string): Promise<ModelVersionRecord | null> {
    return this.find(this.pool, id);
  }

  /**
   * Makes a ready model the project's promoted one, whatever its accuracy (a rollback to an older model is
   * a promotion too). False when it is not a ready model of the project.
   */
  async promote(projectId: string, id: string): Promise<boolean> {
    return this.inProjectLock(projectId, async (client) => {
      const { rowCount } = await client.query(
        `UPDATE model_versions SET promoted = (id = $2)
         WHERE project_id = $1 AND (promoted OR id = $2)
           AND EXISTS (SELECT 1 FROM model_versions WHERE id = $2 AND project_id = $1 AND status = 'ready')`,
        [projectId, id],
      );
      return (rowCount ?? 0) > 0;
    });
  }

  /**
   * Records an imported model as ready with the project's next number, promoted (replacing the promoted
   * one) when asked. Its artifact must already be stored.
   */
  async recordImported(
    projectId: string,
    model: ImportedModel,
    promote: boolean,
  ): Promise<ModelVersionRecord> {
    return this.inProjectLock(projectId, async (client) => {
      await client.query(
        `INSERT INTO model_versions (id, project_id, number, run_id, status, spec, metrics, backend, train_ms,
           artifact_key, source, origin, ready_at)
         SELECT $2::text::uuid, $1, coalesce(max(number), 0) + 1, 'import-' || $2::text, 'ready', $3::jsonb, $4::jsonb, $5, $6,
           $7, 'imported', $8::jsonb, now()
         FROM model_versions WHERE project_id = $1`,
        [
          projectId,
          model.id,
          JSON.stringify(model.spec),
          model.metrics === null ? null : JSON.stringify(model.metrics),
          model.backend,
          model.trainMs,
          model.artifactKey,
          JSON.stringify(model.origin),
        ],
      );
      if (promote) {
        await client.query(
          'UPDATE model_versions SET promoted = (id = $2) WHERE project_id = $1 AND (promoted OR id = $2)',
          [projectId, model.id],
        );
      }
      return (await this.find(client, model.id))!;
    });
  }

  private async find(client: PoolClient | Pool, id: string): Promise<ModelVersionRecord | null> {
    const { rows } = await client.query(
      `SELECT ${COLUMNS} FROM ${FROM}
       WHERE m.id = $1`,
      [id],
    );
    return rows[0] ? toRecord(rows[0]) : null;
  }

  private async inProjectLock<T>(projectId: string, work: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`SELECT pg_advisory_xact_lock(hashtext('model_versions:' || $1))`, [projectId]);
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }
}
