import { Inject, Injectable } from '@nestjs/common';
import { Pool } from 'pg';
import { PG_POOL } from '../db.tokens';

/** Which request an Idempotency-Key was first used for. */
export interface IdempotentRequestIdentity {
  route: string;
  requestHash: string;
}

export interface StoredAnswer {
  statusCode: number;
  response: unknown;
}

/** A key's row: its reservation id, the request it belongs to, and its answer once the handler succeeded. */
export interface IdempotentRequestRecord extends IdempotentRequestIdentity {
  id: string;
  answer: StoredAnswer | null;
}

/**
 * Idempotency keys, reserved before their handler runs. `reserve` is the one atomic step (a unique index on
 * (api key, key) with ON CONFLICT DO NOTHING); the rest only touch the row of their own reservation id, so a
 * reservation that expired and was taken over is never completed or released by its first holder.
 */
@Injectable()
export class IdempotencyRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /** The reservation id when this call reserved the key, null when the key already has a row. */
  async reserve(apiKeyId: string, key: string, request: IdempotentRequestIdentity): Promise<string | null> {
    const { rows } = await this.pool.query(
      `INSERT INTO idempotent_requests (api_key_id, key, route, request_hash) VALUES ($1, $2, $3, $4)
       ON CONFLICT (api_key_id, key) DO NOTHING RETURNING id`,
      [apiKeyId, key, request.route, request.requestHash],
    );
    return rows[0] ? (rows[0].id as string) : null;
  }

  async find(apiKeyId: string, key: string): Promise<IdempotentRequestRecord | null> {
    const { rows } = await this.pool.query(
      `SELECT id, route, request_hash, status_code, response, completed_at IS NOT NULL AS completed
       FROM idempotent_requests WHERE api_key_id = $1 AND key = $2`,
      [apiKeyId, key],
    );
    const row = rows[0];
    if (!row) return null;
    return {
      id: row.id,
      route: row.route,
      requestHash: row.request_hash,
      answer: row.completed ? { statusCode: row.status_code, response: row.response } : null,
    };
  }

  /** Stores the handler's answer on the reservation (unless it expired and another request took it over). */
  async complete(id: string, answer: StoredAnswer): Promise<void> {
    await this.pool.query(
      `UPDATE idempotent_requests SET status_code = $2, response = $3::jsonb, completed_at = now()
       WHERE id = $1 AND completed_at IS NULL`,
      [id, answer.statusCode, JSON.stringify(answer.response ?? null)],
    );
  }

  /** Drops a reservation whose handler failed, so a retry can run. */
  async release(id: string): Promise<void> {
    await this.pool.query('DELETE FROM idempotent_requests WHERE id = $1 AND completed_at IS NULL', [id]);
  }

  /**
   * Drops a reservation older than `seconds` that never got its answer (its process died), by the database's
   * clock so API replicas agree; true when it did.
   */
  async releaseExpired(id: string, seconds: number): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `DELETE FROM idempotent_requests
       WHERE id = $1 AND completed_at IS NULL AND created_at < now() - make_interval(secs => $2)`,
      [id, seconds],
    );
    return rowCount === 1;
  }
}
