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

/** An event's error as kept for the connector's status: a message about a huge body can be huge itself. */
const MAX_ERROR_CHARS = 2000;

/**
 * The durable inbox of Label Studio event webhooks: written before the reply, processed after it, in
 * arrival order per project. A resent event (same dedupe key) is stored once.
 */
@Injectable()
export class LabelStudioEventsRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /**
   * One statement for all events of a request, taken only while the connector has fewer than `maxWaiting`
   * events waiting (not yet processed nor given up on): `accepted` false stores none. `stored`: how many were
   * new (not resends).
   */
  async insert(
    projectId: string,
    connectorId: string,
    events: readonly NewLabelStudioEvent[],
    limits: { maxAttempts: number; maxWaiting: number },
  ): Promise<{ accepted: boolean; stored: number }> {
    if (events.length === 0) return { accepted: true, stored: 0 };
    const { rows } = await this.pool.query({
      name: 'label-studio-events.insert',
      text: `WITH room AS (
               SELECT count(*) < $7 AS accepted FROM (
                 SELECT 1 FROM label_studio_events
                 WHERE project_id = $1 AND connector_id = $2 AND processed_at IS NULL AND attempts < $6
                 LIMIT $7) AS waiting),
             inserted AS (
               INSERT INTO label_studio_events (project_id, connector_id, dedupe_key, action, payload)
               SELECT $1, $2, key, action, payload::jsonb
               FROM unnest($3::text[], $4::text[], $5::text[]) AS e(key, action, payload)
               WHERE (SELECT accepted FROM room)
               ON CONFLICT (project_id, dedupe_key) DO NOTHING
               RETURNING 1)
             SELECT (SELECT accepted FROM room) AS accepted, (SELECT count(*)::int FROM inserted) AS stored`,
      values: [
        projectId,
        connectorId,
        events.map((e) => e.dedupeKey),
        events.map((e) => e.action),
        events.map((e) => JSON.stringify(e.payload)),
        limits.maxAttempts,
        limits.maxWaiting,
      ],
    });
    return { accepted: rows[0].accepted, stored: rows[0].stored };
  }

  /**
   * A webhook that could not be read, kept as an event already given up on (attempts = `givenUpAt`), so the
   * connector's status lists it with its error; only while the connector has fewer than `maxFailed` events
   * given up on, so a stream of garbage cannot grow the table. False when it was left out for that reason
   * (a resend of a kept one is kept once and counts as kept).
   */
  async insertRejected(
    projectId: string,
    connectorId: string,
    event: NewLabelStudioEvent & { error: string; givenUpAt: number },
    maxFailed: number,
  ): Promise<boolean> {
    const { rows } = await this.pool.query(
      `WITH room AS (
         SELECT count(*) < $8 AS kept FROM (
           SELECT 1 FROM label_studio_events
           WHERE project_id = $1 AND connector_id = $2 AND processed_at IS NULL AND attempts >= $6
           LIMIT $8) AS failed),
       inserted AS (
         INSERT INTO label_studio_events (project_id, connector_id, dedupe_key, action, payload, attempts, error)
         SELECT $1, $2, $3, $4, $5::jsonb, $6, left($7, ${MAX_ERROR_CHARS})
         WHERE (SELECT kept FROM room)
         ON CONFLICT (project_id, dedupe_key) DO NOTHING)
       SELECT (SELECT kept FROM room)
              OR EXISTS (SELECT 1 FROM label_studio_events WHERE project_id = $1 AND dedupe_key = $3) AS kept`,
      [
        projectId,
        connectorId,
        event.dedupeKey,
        event.action,
        JSON.stringify(event.payload),
        event.givenUpAt,
        event.error,
        maxFailed,
      ],
    );
    return rows[0].kept;
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

  /** Done: the payload is dropped (nothing reads it again); the dedupe key stays to recognize resends. */
  async markProcessed(id: string): Promise<void> {
    await this.pool.query({
      name: 'label-studio-events.processed',
      text: `UPDATE label_studio_events SET processed_at = now(), error = NULL, payload = '{}'::jsonb
             WHERE id = $1::bigint`,
      values: [id],
    });
  }

  /**
   * Records a failed attempt: retried at `retryAt`, or given up on (attempts set to `giveUpAt`) when null, and
   * then its payload is dropped like a processed one's: the status lists the error, not the body.
   */
  async markFailed(id: string, error: string, retryAt: Date | null, giveUpAt: number): Promise<void> {
    await this.pool.query(
      `UPDATE label_studio_events
       SET error = left($2, ${MAX_ERROR_CHARS}), retry_at = $3,
           attempts = CASE WHEN $3::timestamptz IS NULL THEN $4 ELSE attempts + 1 END,
           payload = CASE WHEN $3::timestamptz IS NULL THEN '{}'::jsonb ELSE payload END
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
