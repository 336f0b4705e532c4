import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { Logger } from 'pino';

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

/** Maps anything thrown (Nest, Fastify body parsing, our own) to the one error shape. */
export function toErrorBody(exception: unknown): ErrorBody {
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    const response = exception.getResponse();
    const payload = typeof response === 'string' ? { message: response } : (response as Record<string, unknown>);
    const message = Array.isArray(payload.message) ? payload.message.join('; ') : String(payload.message ?? '');
    return {
      statusCode: status,
      error: reasonPhrases[status] ?? 'Error',
      message,
      ...(payload.details !== undefined ? { details: payload.details } : {}),
    };
  }
  // Fastify's own errors (body too large, malformed JSON, bad content type) carry a 4xx statusCode.
  const candidate = exception as { statusCode?: unknown; message?: unknown; code?: unknown };
  if (typeof candidate?.statusCode === 'number' && candidate.statusCode >= 400 && candidate.statusCode < 500) {
    const status = candidate.statusCode;
    let message = String(candidate.message ?? 'Bad request');
    if (candidate.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || /JSON/.test(message)) {
      message = `body: malformed JSON (${message})`;
    }
    return { statusCode: status, error: reasonPhrases[status] ?? 'Error', message };
  }
  return { statusCode: 500, error: reasonPhrases[500], message: 'Internal server error' };
}

@Catch()
export class ErrorFilter implements ExceptionFilter {
  constructor(private readonly logger: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const body = toErrorBody(exception);
    if (body.statusCode >= HttpStatus.INTERNAL_SERVER_ERROR) {
      this.logger.error({ err: exception }, 'request failed');
    }
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    void reply.status(body.statusCode).send(body);
  }
}
