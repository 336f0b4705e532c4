import { HttpStatus, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { IdempotencyRepository, type IdempotentRequestIdentity } from '@labelloop/db';
import type { Principal } from '../auth/principal';
import { ApiError } from './api-error';

/**
 * A reservation older than this without an answer belongs to a process that died mid-request: a retry takes
 * it over. It must outlast any handler that takes the header (an annotation write takes milliseconds), since
 * a reservation taken over while its handler still runs lets the write happen twice.
 */
const IDEMPOTENCY_RESERVATION_EXPIRES_SECONDS = 60;
/** How long a duplicate of a request in progress waits for its answer before it gets a 409. */
const IDEMPOTENCY_WAIT_MS = 5_000;
const POLL_MS = 50;
/** What the in-progress 409 tells the client in `Retry-After`. */
const RETRY_AFTER_SECONDS = 1;

/**
 * With an `Idempotency-Key` header a request is done once: the key is reserved atomically before the handler
 * runs, and the handler's answer is stored on the reservation. A duplicate (a retry, or a client sending the
 * same request twice at once) gets that answer, waiting up to IDEMPOTENCY_WAIT_MS while the first still
 * runs, else a 409 with `Retry-After`; it never runs the handler a second time. Reusing a key for a different
 * request is a 422, even while the first runs. A handler that fails gives its reservation back, so a retry
 * runs again.
 *
 * A write handler calls `run` around its work (validation included, so a replay is recognized before the
 * body is looked at). It is not a Nest interceptor: Nest runs every intercepted request through an RxJS
 * pipeline, which cost the labeling hot path more than the rest of the handler even for requests without
 * the header.
 */
@Injectable()
export class IdempotentWrites {
  constructor(private readonly stored: IdempotencyRepository) {}

  /**
   * `statusCode` is the route's success status (its @HttpCode), stored with the answer. Without the header,
   * this is `write()` itself: no extra promise on the hot path.
   */
  run<T>(
    request: FastifyRequest,
    principal: Principal,
    statusCode: number,
    write: () => Promise<T>,
  ): Promise<T | unknown> {
    const key = request.headers['idempotency-key'];
    if (typeof key !== 'string' || key.length === 0) return write();
    return this.once(request, principal, statusCode, key, write);
  }

  private async once<T>(
    request: FastifyRequest,
    principal: Principal,
    statusCode: number,
    key: string,
    write: () => Promise<T>,
  ): Promise<T | unknown> {
    if (key.length > 200) throw ApiError.badRequest('Idempotency-Key: at most 200 characters');
    const identity: IdempotentRequestIdentity = {
      route: `${request.method} ${request.url}`,
      requestHash: createHash('sha256')
        .update(JSON.stringify(request.body ?? null))
        .digest('hex'),
    };
    const deadline = Date.now() + IDEMPOTENCY_WAIT_MS;
    for (;;) {
      const reservation = await this.stored.reserve(principal.keyId, key, identity);
      if (reservation !== null) return this.runReserved(reservation, statusCode, write);
      const existing = await this.stored.find(principal.keyId, key);
      // Released (its handler failed) between the two statements: try to reserve it again.
      if (existing === null) continue;
      if (existing.route !== identity.route || existing.requestHash !== identity.requestHash) {
        throw new ApiError(
          HttpStatus.UNPROCESSABLE_ENTITY,
          'Idempotency-Key was already used for a different request',
        );
      }
      if (existing.answer !== null) return existing.answer.response;
      if (await this.stored.releaseExpired(existing.id, IDEMPOTENCY_RESERVATION_EXPIRES_SECONDS)) continue;
      if (Date.now() >= deadline) {
        throw new ApiError(
          HttpStatus.CONFLICT,
          'a request with this Idempotency-Key is still in progress; retry later for its answer',
          undefined,
          { 'retry-after': String(RETRY_AFTER_SECONDS) },
        );
      }
      await sleep(POLL_MS);
    }
  }

  private async runReserved<T>(reservation: string, statusCode: number, write: () => Promise<T>): Promise<T> {
    let response: T;
    try {
      response = await write();
    } catch (error) {
      // The handler's own error is the answer; a failed release only delays a retry until the reservation
      // expires.
      await this.stored.release(reservation).catch(() => undefined);
      throw error;
    }
    await this.stored.complete(reservation, { statusCode, response });
    return response;
  }
}
