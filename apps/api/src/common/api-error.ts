import { HttpException, HttpStatus } from '@nestjs/common';

export interface FieldProblem {
  field: string;
  reason: string;
}

/** An HTTP error in the one JSON shape: { statusCode, error, message, details? }. */
export class ApiError extends HttpException {
  /** Response headers sent with the error (e.g. `Retry-After`). */
  readonly headers: Record<string, string>;

  constructor(status: HttpStatus, message: string, details?: unknown, headers: Record<string, string> = {}) {
    super({ message, details }, status);
    this.headers = headers;
  }

  static badRequest(message: string, details?: unknown): ApiError {
    return new ApiError(HttpStatus.BAD_REQUEST, message, details);
  }
  static notFound(what: string, id: string): ApiError {
    return new ApiError(HttpStatus.NOT_FOUND, `${what} ${id} not found`);
  }
  static forbidden(message: string): ApiError {
    return new ApiError(HttpStatus.FORBIDDEN, message);
  }
  static conflict(message: string, details?: unknown): ApiError {
    return new ApiError(HttpStatus.CONFLICT, message, details);
  }
  static unknownLabel(label: string, allowed: string[]): ApiError {
    return new ApiError(
      HttpStatus.BAD_REQUEST,
      `label ${JSON.stringify(label)} is not in the project's label set: ${allowed.join(', ')}`,
      { field: 'label', allowed },
    );
  }
}
