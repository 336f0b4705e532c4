import { Inject, Injectable } from '@nestjs/common';
import { Pool } from 'pg';
import { PG_POOL } from '../db.tokens';

export interface ProjectStats {
  items: number;
  labeled: number;
  perLabel: Record<string, number>;
  tasks: { open: number; leased: number; done: number; skipped: number };
  window: {
    hours: number;
    labels: number;
    labelsPerHour: number;
    medianLeadTimeMs: number | null;
    perAnnotator: {
      annotator: string;
      labels: number;
      labelsPerHour: number;
      medianLeadTimeMs: number | null;
    }[];
  };
}

export interface ThroughputBucket {
  start: Date;
  labels: number;
  activeAnnotators: number;
  medianLeadTimeMs: number | null;
  /** Holdout accuracy of the newest ready model at the end of the bucket; null before any model. */
  modelAccuracy: number | null;
}

// Buckets in UTC, empty ones included, so a chart's x axis has no gaps. Retractions (NULL labels)
// are not labels and are not counted.
const TIMESERIES_SQL = `
WITH buckets AS (
  SELECT generate_series(date_trunc($2, $3::timestamptz, 'UTC'), date_trunc($2, $4::timestamptz, 'UTC'),
                         make_interval(hours => $5)) AS start
), agg AS (
  SELECT date_trunc($2, created_at, 'UTC') AS start, count(*)::int AS labels,
         count(DISTINCT annotator)::int AS annotators,
         percentile_cont(0.5) WITHIN GROUP (ORDER BY lead_time_ms) AS median_lead
  FROM annotations
  WHERE project_id = $1 AND source = 'human' AND label IS NOT NULL
    AND created_at >= date_trunc($2, $3::timestamptz, 'UTC')
    AND created_at < date_trunc($2, $4::timestamptz, 'UTC') + make_interval(hours => $5)
  GROUP BY 1
)
SELECT b.start, coalesce(a.labels, 0) AS labels, coalesce(a.annotators, 0) AS annotators, a.median_lead,
       (SELECT (m.metrics ->> 'accuracy')::float8 FROM model_versions m
        WHERE m.project_id = $1 AND m.status = 'ready' AND m.ready_at < b.start + make_interval(hours => $5)
        ORDER BY m.ready_at DESC LIMIT 1) AS model_accuracy
FROM buckets b LEFT JOIN agg a USING (start)
ORDER BY b.start`;

@Injectable()
export class StatsRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  async projectStats(projectId: string, windowHours: number): Promise<ProjectStats> {
    const [items, tasks, annotators] = await Promise.all([
      this.pool.query(
        `SELECT label, count(*)::int AS n FROM items WHERE project_id = $1 AND deleted_at IS NULL GROUP BY label`,
        [projectId],
      ),
      this.pool.query(
        `SELECT count(*) FILTER (WHERE status = 'open' OR (status = 'leased' AND lease_expires_at < now()))::int AS open,
                count(*) FILTER (WHERE status = 'leased' AND lease_expires_at >= now())::int AS leased,
                count(*) FILTER (WHERE status = 'done')::int AS done,
                count(*) FILTER (WHERE status = 'skipped')::int AS skipped
         FROM tasks WHERE project_id = $1`,
        [projectId],
      ),
      this.pool.query(
        `SELECT annotator, count(*)::int AS n,
                percentile_cont(0.5) WITHIN GROUP (ORDER BY lead_time_ms) AS median_lead
         FROM annotations
         WHERE project_id = $1 AND source = 'human' AND label IS NOT NULL AND created_at > now() - make_interval(secs => $2)
         GROUP BY ROLLUP (annotator) ORDER BY annotator NULLS FIRST`,
        [projectId, windowHours * 3600],
      ),
    ]);
    const perLabel: Record<string, number> = {};
    let total = 0;
    let labeled = 0;
    for (const row of items.rows) {
      total += row.n;
      if (row.label !== null) {
        labeled += row.n;
        perLabel[row.label] = row.n;
      }
    }
    const overall = annotators.rows.find((row) => row.annotator === null);
    const rate = (n: number) => Math.round((n / windowHours) * 100) / 100;
    const median = (value: unknown) => (value === null || value === undefined ? null : Number(value));
    return {
      items: total,
      labeled,
      perLabel,
      tasks: tasks.rows[0],
      window: {
        hours: windowHours,
        labels: overall?.n ?? 0,
        labelsPerHour: rate(overall?.n ?? 0),
        medianLeadTimeMs: median(overall?.median_lead),
        perAnnotator: annotators.rows
          .filter((row) => row.annotator !== null)
          .map((row) => ({
            annotator: row.annotator,
            labels: row.n,
            labelsPerHour: rate(row.n),
            medianLeadTimeMs: median(row.median_lead),
          })),
      },
    };
  }

  async timeseries(
    projectId: string,
    bucket: 'hour' | 'day',
    from: Date,
    to: Date,
  ): Promise<ThroughputBucket[]> {
    const result = await this.pool.query(TIMESERIES_SQL, [
      projectId,
      bucket,
      from,
      to,
      bucket === 'hour' ? 1 : 24,
    ]);
    return result.rows.map((row) => ({
      start: row.start,
      labels: row.labels,
      activeAnnotators: row.annotators,
      medianLeadTimeMs: row.median_lead === null ? null : Number(row.median_lead),
      modelAccuracy: row.model_accuracy,
    }));
  }
}
