import { HttpStatus, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { createHash } from 'node:crypto';
import { IdempotencyRepository } from '@labelloop/db';
import type { Principal } from '../auth/principal';
import { ApiError } from './api-error';

/**
 * With an `Idempotency-Key` header, the first successful answer is stored and every
 * retry with the same key gets it again without a second write. Reusing a key for a
 * different request is a 422.
 *
 * A write handler calls `run` around its work (validation included, so a replay is
 * recognized before the body is looked at, as before). It is not a Nest interceptor:
 * Nest runs every intercepted request through an RxJS pipeline, which cost the labeling
 * hot path more than the rest of the handler even for requests without the header.
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
    const route = `${request.method} ${request.url}`;
    const requestHash = createHash('sha256')
      .update(JSON.stringify(request.body ?? null))
      .digest('hex');
    const previous = await this.stored.find(principal.keyId, key);
    if (previous) {
      if (previous.route !== route || previous.requestHash !== requestHash) {
        throw new ApiError(
          HttpStatus.UNPROCESSABLE_ENTITY,
          'Idempotency-Key was already used for a different request',
        );
      }
      return previous.response;
    }
    const response = await write();
    await this.stored.save(principal.keyId, key, { route, requestHash, statusCode, response });
    return response;
  }
}
