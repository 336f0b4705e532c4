import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isDatabaseUnavailable } from '@labelloop/db';
import type { Logger } from 'pino';
import { ApiError } from './api-error';

export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  details?: unknown;
}

const reasonPhrases: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

interface FastifyClientError {
  statusCode: number;
  code?: unknown;
  message?: unknown;
}

function isFastifyClientError(error: unknown): error is FastifyClientError {
  const candidate = error as { statusCode?: unknown } | null | undefined;
  return (
    typeof candidate?.statusCode === 'number' && candidate.statusCode >= 400 && candidate.statusCode < 500
  );
}

/** Fastify's own body errors (malformed JSON, too large, bad content type), worded to name the body. */
function fastifyErrorBody(error: FastifyClientError): ErrorBody {
  const status = error.statusCode;
  let message = String(error.message ?? 'Bad request');
  if (error.code === 'FST_ERR_CTP_INVALID_JSON_BODY') message = `body: malformed JSON (${message})`;
  else if (typeof error.code === 'string' && error.code.startsWith('FST_ERR_CTP_'))
    message = `body: ${message}`;
  return { statusCode: status, error: reasonPhrases[status] ?? 'Error', message };
}

/** Maps anything thrown (Nest, Fastify body parsing, our own) to the one error shape. */
export function toErrorBody(exception: unknown): ErrorBody {
  if (exception instanceof HttpException) {
    // Nest hands Fastify's errors to filters wrapped in an HttpException, the original as its cause.
    if (isFastifyClientError(exception.cause)) return fastifyErrorBody(exception.cause);
    const status = exception.getStatus();
    const response = exception.getResponse();
    const payload =
      typeof response === 'string' ? { message: response } : (response as Record<string, unknown>);
    const message = Array.isArray(payload.message)
      ? payload.message.join('; ')
      : String(payload.message ?? '');
    return {
      statusCode: status,
      error: reasonPhrases[status] ?? 'Error',
      message,
      ...(payload.details !== undefined ? { details: payload.details } : {}),
    };
  }
  if (isFastifyClientError(exception)) return fastifyErrorBody(exception);
  return { statusCode: 500, error: reasonPhrases[500], message: 'Internal server error' };
}

/** How long a client is asked to wait when the database is away: a failover or restart takes seconds. */
const DATABASE_RETRY_AFTER_SECONDS = 5;

/** The database was unreachable or dropped the connection: nothing is wrong with the request, so a retry hint. */
function databaseUnavailable(): ApiError {
  return new ApiError(HttpStatus.SERVICE_UNAVAILABLE, 'the database is unavailable; retry later', undefined, {
    'retry-after': String(DATABASE_RETRY_AFTER_SECONDS),
  });
}

@Catch()
export class ErrorFilter implements ExceptionFilter {
  constructor(private readonly logger: Logger) {}

  catch(thrown: unknown, host: ArgumentsHost): void {
    const request = host.switchToHttp().getRequest<FastifyRequest>();
    if (request.raw.socket?.destroyed) {
      // The client is gone (it hung up mid-request, or its stalled upload was cut off): no one to answer.
      this.logger.warn({ err: (thrown as Error)?.message }, 'request abandoned: connection closed');
      return;
    }
    const unavailable = isDatabaseUnavailable(thrown);
    const exception = unavailable ? databaseUnavailable() : thrown;
    const body = toErrorBody(exception);
    if (unavailable) {
      // Expected during an outage, once per request: a warning, not a stack trace per request.
      this.logger.warn({ err: (thrown as Error).message }, 'request failed: database unavailable');
    } else if (body.statusCode >= HttpStatus.INTERNAL_SERVER_ERROR) {
      this.logger.error({ err: exception }, 'request failed');
    }
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    // An error before the request body was read to its end (a bad line mid-import): the rest of the body
    // would be read as the next request on this connection, so the connection closes after the answer.
    if (!request.raw.complete) void reply.header('connection', 'close');
    if (exception instanceof ApiError) void reply.headers(exception.headers);
    void reply.status(body.statusCode).send(body);
  }
}
