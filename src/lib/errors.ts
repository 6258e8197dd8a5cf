// Errors the API reports to clients: each carries an HTTP status and a stable code.
import { z } from 'zod';

/** The body of every error answer (src/middleware/error-handler.ts), as the API reference documents it. */
export const errorBody = z
  .object({
    error: z.object({
      code: z.string().meta({
        description:
          'stable, for programs: validation_failed, invalid_json, bad_request, unauthorized, forbidden, not_found, conflict, metric_exists, built_in_metric, metric_in_use, payload_too_large, unsupported_media_type, rate_limited, unavailable, not_configured, internal',
      }),
      message: z.string().meta({ description: 'for people: names the invalid field or the reason' }),
      details: z.unknown().optional().meta({
        description: 'validation_failed: [{path, message}] for each invalid field; otherwise what the error adds (the fields a started experiment refuses to change, a decision, invalid audience rows, the requestId of an internal error)',
      }),
    }),
  })
  .meta({ id: 'Error' });
export type ErrorBody = z.infer<typeof errorBody>;
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class BadRequestError extends AppError {
  constructor(message: string, details?: unknown) {
    super(400, 'bad_request', message, details);
  }
}

export class UnauthorizedError extends AppError {
  constructor(message = 'missing or invalid API key') {
    super(401, 'unauthorized', message);
  }
}

export class ForbiddenError extends AppError {
  constructor(message = 'this API key may not do that') {
    super(403, 'forbidden', message);
  }
}

export class NotFoundError extends AppError {
  constructor(what: string) {
    super(404, 'not_found', `${what} not found`);
  }
}

export class ConflictError extends AppError {
  constructor(message: string, details?: unknown) {
    super(409, 'conflict', message, details);
  }
}

/** MongoDB's duplicate key error, from either the driver or mongoose. */
export function isDuplicateKeyError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 11000;
}

export class ServiceUnavailableError extends AppError {
  constructor(message: string) {
    super(503, 'unavailable', message);
  }
}
