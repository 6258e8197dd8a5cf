// A small request handler wrapper: parses params, query and body with zod and hands typed input to the
// service. Express 5 forwards rejected promises to the error middleware, so no async wrapper is needed.
import type { Request, RequestHandler, Response } from 'express';
import { z } from 'zod';

type Schema = z.ZodType;
interface Schemas {
  params?: Schema;
  query?: Schema;
  body?: Schema;
}
type Infer<S> = S extends Schema ? z.output<S> : undefined;
export interface HandlerInput<S extends Schemas> {
  params: Infer<S['params']>;
  query: Infer<S['query']>;
  body: Infer<S['body']>;
}

export interface HandlerResult {
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/**
 * Wraps a JSON endpoint. The function returns the response body (status 200), or a HandlerResult when
 * it needs another status or headers. Parsing happens before anything else, so a 400 stores nothing.
 */
export function handle<S extends Schemas>(
  schemas: S,
  fn: (input: HandlerInput<S>, req: Request, res: Response) => unknown, // a value or a promise of one
  options: { status?: number } = {},
): RequestHandler {
  return async (req, res) => {
    const input = {
      params: schemas.params ? schemas.params.parse(req.params) : undefined,
      query: schemas.query ? schemas.query.parse(req.query ?? {}) : undefined,
      body: schemas.body ? schemas.body.parse(req.body) : undefined,
    } as HandlerInput<S>;
    const result = await fn(input, req, res);
    if (res.headersSent) return;
    if (result instanceof Reply) {
      if (result.headers) res.set(result.headers);
      res.status(result.status ?? 200);
      if (result.body === undefined) res.end();
      else res.json(result.body);
      return;
    }
    res.status(options.status ?? 200).json(result);
  };
}

/** A response with an explicit status or headers. */
export class Reply implements HandlerResult {
  constructor(
    readonly status: number,
    readonly body?: unknown,
    readonly headers?: Record<string, string>,
  ) {}
}

/** Parses with a schema whose errors should name the part of the request they came from. */
export const schemas = {
  keyParam: z.object({ key: z.string().regex(/^[a-z0-9][a-z0-9_-]{1,63}$/, 'must be an experiment key') }),
};
