import { Inject, Injectable } from '@nestjs/common';
import { Pool } from 'pg';
import { PG_POOL } from '../db.tokens';

export interface NewLabelStudioEvent {
  dedupeKey: string;
  action: string;
  payload: unknown;
}

export interface LabelStudioEventCounts {
  pending: number;
  processed: number;
  failed: number;
}

export interface LabelStudioEventRecord {
  id: string;
  projectId: string;
  connectorId: string;
  action: string;
  payload: unknown;
  attempts: number;
}

/**
 * The durable inbox of Label Studio event webhooks: written before the reply, processed after it, in
 * arrival order per project. A resent event (same dedupe key) is stored once.
 */
@Injectable()
export class LabelStudioEventsRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /** One statement for all events of a request; returns how many were new (not resends). */
  async insert(
    projectId: string,
    connectorId: string,
    events: readonly NewLabelStudioEvent[],
  ): Promise<number> {
    if (events.length === 0) return 0;
    const result = await this.pool.query({
      name: 'label-studio-events.insert',
      text: `INSERT INTO label_studio_events (project_id, connector_id, dedupe_key, action, payload)
             SELECT $1, $2, key, action, payload::jsonb
             FROM unnest($3::text[], $4::text[], $5::text[]) AS e(key, action, payload)
             ON CONFLICT (project_id, dedupe_key) DO NOTHING`,
      values: [
        projectId,
        connectorId,
        events.map((e) => e.dedupeKey),
        events.map((e) => e.action),
        events.map((e) => JSON.stringify(e.payload)),
      ],
    });
    return result.rowCount ?? 0;
  }

  /**
   * A webhook that could not be read, kept as an event already given up on (attempts = `givenUpAt`), so the
   * connector's status lists it with its error. A resent one (same dedupe key) is stored once.
   */
  async insertRejected(
    projectId: string,
    connectorId: string,
    event: NewLabelStudioEvent & { error: string; givenUpAt: number },
  ): Promise<void> {
    await this.pool.query(
      `INSERT INTO label_studio_events (project_id, connector_id, dedupe_key, action, payload, attempts, error)
       VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7)
       ON CONFLICT (project_id, dedupe_key) DO NOTHING`,
      [
        projectId,
        connectorId,
        event.dedupeKey,
        event.action,
        JSON.stringify(event.payload),
        event.givenUpAt,
        event.error,
      ],
    );
  }

  /** Projects with events due (never tried, or whose retry time has come), oldest event first. */
  async projectsWithDueEvents(maxAttempts: number, limit: number): Promise<string[]> {
    const { rows } = await this.pool.query(
      `SELECT project_id FROM label_studio_events
       WHERE processed_at IS NULL AND attempts < $1 AND (retry_at IS NULL OR retry_at <= now())
       GROUP BY project_id ORDER BY min(id) LIMIT $2`,
      [maxAttempts, limit],
    );
    return rows.map((row) => row.project_id as string);
  }

  /**
   * Runs `work` while holding the project's drain lock (a session advisory lock on a dedicated connection),
   * so events of one project are applied by one process at a time, in order. False when another holds it.
   * A process that dies releases the lock with its connection.
   */
  async withDrainLock(projectId: string, work: () => Promise<void>): Promise<boolean> {
    const client = await this.pool.connect();
    try {
      const { rows } = await client.query(
        `SELECT pg_try_advisory_lock(hashtextextended('label-studio-events:' || $1, 0)) AS locked`,
        [projectId],
      );
      if (!rows[0].locked) return false;
      try {
        await work();
      } finally {
        await client.query(`SELECT pg_advisory_unlock(hashtextextended('label-studio-events:' || $1, 0))`, [
          projectId,
        ]);
      }
      return true;
    } finally {
      client.release();
    }
  }

  /**
   * The project's next unprocessed events in arrival order, up to the first one still waiting for a retry
   * (a later event of the same annotation must not overtake it).
   */
  async nextDue(projectId: string, maxAttempts: number, limit: number): Promise<LabelStudioEventRecord[]> {
    const { rows } = await this.pool.query(
      `SELECT e.id::text AS event_id, e.project_id, e.connector_id, e.action, e.payload, e.attempts,
              (e.retry_at IS NOT NULL AND e.retry_at > now()) AS waiting
       FROM label_studio_events e
       WHERE e.project_id = $1 AND e.processed_at IS NULL AND e.attempts < $2
       ORDER BY e.id LIMIT $3`,
      [projectId, maxAttempts, limit],
    );
    const due: LabelStudioEventRecord[] = [];
    for (const row of rows) {
      if (row.waiting) break;
      due.push({
        id: row.event_id,
        projectId: row.project_id,
        connectorId: row.connector_id,
        action: row.action,
        payload: row.payload,
        attempts: row.attempts,
      });
    }
    return due;
  }

  async markProcessed(id: string): Promise<void> {
    await this.pool.query({
      name: 'label-studio-events.processed',
      text: `UPDATE label_studio_events SET processed_at = now(), error = NULL WHERE id = $1::bigint`,
      values: [id],
    });
  }

  /** Records a failed attempt: retried at `retryAt`, or given up on (attempts set to `giveUpAt`) when null. */
  async markFailed(id: string, error: string, retryAt: Date | null, giveUpAt: number): Promise<void> {
    await this.pool.query(
      `UPDATE label_studio_events
       SET error = $2, retry_at = $3,
           attempts = CASE WHEN $3::timestamptz IS NULL THEN $4 ELSE attempts + 1 END
       WHERE id = $1::bigint`,
      [id, error, retryAt, giveUpAt],
    );
  }

  /** The newest events given up on, for the connector's status. */
  async failures(projectId: string, maxAttempts: number, limit: number) {
    const { rows } = await this.pool.query(
      `SELECT e.id::text AS event_id, e.action, e.error, e.received_at FROM label_studio_events e
       WHERE e.project_id = $1 AND e.processed_at IS NULL AND e.attempts >= $2 ORDER BY e.id DESC LIMIT $3`,
      [projectId, maxAttempts, limit],
    );
    return rows.map((row) => ({
      id: row.event_id as string,
      action: row.action as string,
      error: row.error as string | null,
      receivedAt: row.received_at as Date,
    }));
  }

  /** Webhook events of the project: waiting (or retrying), done, and given up on. */
  async eventCounts(projectId: string, maxAttempts: number): Promise<LabelStudioEventCounts> {
    const { rows } = await this.pool.query(
      `SELECT count(*) FILTER (WHERE processed_at IS NULL AND attempts < $2)::int AS pending,
              count(*) FILTER (WHERE processed_at IS NOT NULL)::int AS processed,
              count(*) FILTER (WHERE processed_at IS NULL AND attempts >= $2)::int AS failed
       FROM label_studio_events WHERE project_id = $1`,
      [projectId, maxAttempts],
    );
    return rows[0] as LabelStudioEventCounts;
  }
}
