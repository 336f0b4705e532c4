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

@Injectable()
export class StatsRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  async projectStats(projectId: string, windowHours: number): Promise<ProjectStats> {
    const [items, tasks, annotators] = await Promise.all([
      this.pool.query(`SELECT label, count(*)::int AS n FROM items WHERE project_id = $1 GROUP BY label`, [
        projectId,
      ]),
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
         WHERE project_id = $1 AND source = 'human' AND created_at > now() - make_interval(secs => $2)
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
}
