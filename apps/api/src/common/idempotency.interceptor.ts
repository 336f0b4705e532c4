import { CallHandler, ExecutionContext, HttpStatus, Injectable, NestInterceptor } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { createHash } from 'node:crypto';
import { Observable, from, of, switchMap } from 'rxjs';
import { IdempotencyRepository } from '@labelloop/db';
import type { Principal } from '../auth/principal';
import { ApiError } from './api-error';

/**
 * With an `Idempotency-Key` header, the first successful answer is stored and every
 * retry with the same key gets it again without a second write. Reusing a key for a
 * different request is a 422.
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  constructor(private readonly stored: IdempotencyRepository) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const http = context.switchToHttp();
    const request = http.getRequest<FastifyRequest & { principal: Principal }>();
    const key = request.headers['idempotency-key'];
    if (typeof key !== 'string' || key.length === 0) return next.handle();
    if (key.length > 200) throw ApiError.badRequest('Idempotency-Key: at most 200 characters');
    const route = `${request.method} ${request.url}`;
    const requestHash = createHash('sha256')
      .update(JSON.stringify(request.body ?? null))
      .digest('hex');
    const keyId = request.principal.keyId;
    return from(this.stored.find(keyId, key)).pipe(
      switchMap((previous) => {
        if (previous) {
          if (previous.route !== route || previous.requestHash !== requestHash) {
            throw new ApiError(
              HttpStatus.UNPROCESSABLE_ENTITY,
              'Idempotency-Key was already used for a different request',
            );
          }
          void http.getResponse<FastifyReply>().status(previous.statusCode);
          return of(previous.response);
        }
        return next.handle().pipe(
          switchMap(async (response) => {
            const statusCode = http.getResponse<FastifyReply>().statusCode;
            await this.stored.save(keyId, key, { route, requestHash, statusCode, response });
            return response;
          }),
        );
      }),
    );
  }
}
