import { RouteConfig } from '@nestjs/platform-fastify';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError } from './api-error';
import { findUnstorableString } from './unstorable-strings';
import { describeProblems } from './zod';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Set by AcceptsUnstorableStrings. */
    acceptsUnstorableStrings?: boolean;
  }
}

/**
 * Lets a route see bodies with unstorable strings and answer them itself: the Label Studio webhook must
 * answer every delivery with a 2xx (LS disables a webhook after repeated failures), so it records such a
 * body as a failed event instead of refusing it.
 */
export const AcceptsUnstorableStrings = (): MethodDecorator =>
  RouteConfig({ acceptsUnstorableStrings: true });

/**
 * One check for every route, after the body is parsed and before any handler (or database) sees it: a NUL
 * or lone surrogate anywhere in the query or a JSON body is a 400 naming the field. Streamed bodies (NDJSON
 * imports) are checked line by line by their reader.
 */
export function refuseUnstorableStrings(fastify: FastifyInstance): void {
  // A callback hook, not an async one: no promise per request for a check that never waits.
  fastify.addHook('preValidation', (request, _reply, done) => {
    done(request.routeOptions.config.acceptsUnstorableStrings ? undefined : unstorableInputError(request));
  });
}

function unstorableInputError(request: FastifyRequest): ApiError | undefined {
  for (const [where, value] of [
    ['query', request.query],
    ['body', request.body],
  ] as const) {
    const found = findUnstorableString(value);
    if (found) return ApiError.badRequest(describeProblems(`invalid ${where}`, [found]), [found]);
  }
  return undefined;
}
