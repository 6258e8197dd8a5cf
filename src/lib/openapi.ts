// The API reference (GET /openapi.json, OpenAPI 3.1), generated from the zod schemas that validate the
// requests. A router declares each route once, with `documented(router, {prefix, tag})`: the declaration
// mounts the Express route (its role check, then `handle` parsing params, query and body with the declared
// schemas) and records it here, so the document describes what is mounted; a test walks the Express stack
// for routes mounted without it. A JSON handler's return value is checked by the compiler against the
// declared answer. The document is built on the first request for it, then kept.
import { OpenAPIRegistry, OpenApiGeneratorV31, type ResponseConfig, type RouteConfig, type ZodMediaTypeObject } from '@asteasolutions/zod-to-openapi';
import type { IRouter, Request, RequestHandler, Response } from 'express';
import type { z } from 'zod';
import type { RoleCheck } from '../middleware/auth';
import { errorBody } from './errors';
import { handle, type Reply } from './handler';

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete' | 'options';

/**
 * Who may call a route: a role check of src/middleware/auth.ts (`can.read`, `can.edit`, ...: an API key
 * is needed), anyone ('public'), or whoever holds a link the service signed ('signed-link').
 */
export type Access = RoleCheck | 'public' | 'signed-link';

/** A body's schema: zod, or a plain JSON Schema for what zod does not describe (an image). */
type MediaSchema = NonNullable<ZodMediaTypeObject['schema']>;

export interface ResponseDoc {
  description: string;
  /** The JSON body: what the handler returns (checked by the compiler) and what a client may parse. */
  json?: z.ZodType;
  /** Other bodies, by media type (CSV, HTML pages, the pixel). */
  content?: Record<string, MediaSchema>;
  /** Response headers worth knowing, by name: what each says. */
  headers?: Record<string, string>;
}
export type Responses = Record<number, ResponseDoc>;

type ObjectSchema = z.ZodObject;

export interface RouteDoc<P extends ObjectSchema | undefined, Q extends ObjectSchema | undefined, B extends z.ZodType | undefined, R extends Responses> {
  access: Access;
  summary: string;
  description?: string;
  /** The router's tag unless given. */
  tag?: string;
  params?: P;
  query?: Q;
  /** The JSON body. */
  body?: B;
  /** Request headers the route reads. */
  headers?: ObjectSchema;
  /** The request body by media type, when it is not only JSON (the audience's CSV, the survey form). */
  requestContent?: Record<string, MediaSchema>;
  /** The answers that are not errors, by status. */
  responses: R;
  /**
   * Error answers ({error: {code, message, details?}}) by status: when each happens. Added to every route:
   * 400 for invalid input (parsed routes), 401 and 403 (keyed routes), 413 (with a body), 429 (routes
   * without a key) and 500.
   */
  errors?: Partial<Record<number, string>>;
  /** Middleware before the role check (the audience upload, mounted outside /v1, authenticates itself). */
  before?: RequestHandler[];
  /** false: answered before the rate limit of the routes without a key (the health probes). */
  rateLimited?: false;
  /** false: the body is streamed, without the JSON parser's size limit (no 413). */
  bodyLimit?: false;
}

type AnyRouteDoc = RouteDoc<ObjectSchema | undefined, ObjectSchema | undefined, z.ZodType | undefined, Responses> & { raw?: true };

type Infer<S> = S extends z.ZodType ? z.output<S> : undefined;
export interface RouteInput<P, Q, B> {
  params: Infer<P>;
  query: Infer<Q>;
  body: Infer<B>;
}
/** What a JSON handler may return: one of the declared JSON answers, a Reply, or nothing once it answered itself. */
type JsonAnswer<R> = { [K in keyof R]: R[K] extends { json: infer S extends z.ZodType } ? z.output<S> : never }[keyof R];
// eslint-disable-next-line @typescript-eslint/no-invalid-void-type -- `void`: a handler that answered itself returns nothing (`undefined` would not accept `async () => {}`)
type Answer<R> = JsonAnswer<R> | Reply | void;
export type RouteHandler<P, Q, B, R> = (input: RouteInput<P, Q, B>, req: Request, res: Response) => Answer<R> | Promise<Answer<R>>;

type JsonRoute = <P extends ObjectSchema | undefined = undefined, Q extends ObjectSchema | undefined = undefined, B extends z.ZodType | undefined = undefined, R extends Responses = Responses>(
  path: string,
  doc: RouteDoc<P, Q, B, R>,
  fn: RouteHandler<P, Q, B, R>,
) => void;

export interface DeclaredRoute {
  method: Method;
  /** The Express path, with the router's mount prefix: /v1/experiments/:key. */
  path: string;
  tag: string;
  doc: AnyRouteDoc;
}

const declared: DeclaredRoute[] = [];
/** The document, once built (a route declared later would be missing from it: it is built again). */
let built: OpenApiDocument | undefined;

/** Every route declared so far (all of them once the routers are imported). */
export function declaredRoutes(): readonly DeclaredRoute[] {
  return declared;
}

/**
 * Declares routes on `router`, which the application mounts at `prefix`. `get`, `post`, ... take a JSON
 * handler run by `handle` (src/lib/handler.ts): the declared params, query and body are parsed first (400
 * otherwise), and a plain return value is answered with the lowest declared 2xx status. `raw` takes an
 * Express handler that reads the request itself with the declared schemas, for answers that are not JSON
 * errors when the input is wrong (HTML pages, the pixel) and for bodies read as a stream.
 */
export function documented(router: IRouter, options: { prefix?: string; tag: string }) {
  const mount = (method: Method, path: string, doc: AnyRouteDoc, last: RequestHandler) => {
    declared.push({ method, path: `${options.prefix ?? ''}${path}`, tag: doc.tag ?? options.tag, doc });
    built = undefined;
    const access = typeof doc.access === 'function' ? [doc.access] : [];
    router[method](path, ...(doc.before ?? []), ...access, last);
  };
  const json =
    (method: Method): JsonRoute =>
    (path, doc, fn) =>
      mount(method, path, doc, handle({ params: doc.params, query: doc.query, body: doc.body }, fn as never, { status: successStatus(doc.responses) }));
  return {
    get: json('get'),
    post: json('post'),
    put: json('put'),
    patch: json('patch'),
    delete: json('delete'),
    raw: <R extends Responses>(method: Method, path: string, doc: RouteDoc<ObjectSchema | undefined, ObjectSchema | undefined, z.ZodType | undefined, R>, fn: RequestHandler) =>
      mount(method, path, { ...(doc as AnyRouteDoc), raw: true }, fn),
  };
}

function successStatus(responses: Responses): number {
  return Object.keys(responses).map(Number).filter((status) => status >= 200 && status < 300).sort((a, b) => a - b)[0] ?? 200;
}

// ---------------------------------------------------------------------------------------------------
// The document.

export type OpenApiDocument = ReturnType<OpenApiGeneratorV31['generateDocument']>;

export const SECURITY_SCHEME = 'apiKey';

/** The OpenAPI 3.1 document of every declared route: built on the first call, then kept. */
export function openApiDocument(): OpenApiDocument {
  built ??= buildOpenApiDocument(declared);
  return built;
}

/** The role a check stands for in the README and the document: the least one it lets through. */
export function requiredRole(check: RoleCheck): string {
  return check.roles.find((role) => role !== 'admin') ?? 'admin';
}

/** /v1/experiments/:key → /v1/experiments/{key}, and the parameter names in order. */
export function openApiPath(path: string): { path: string; names: string[] } {
  const names: string[] = [];
  const converted = path.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, (_match, name: string) => {
    names.push(name);
    return `{${name}}`;
  });
  return { path: converted, names };
}

const INFO_DESCRIPTION = [
  'Verdict is an A/B testing service for customer-experience assets: experiments over email and page variants, assignments, engagement events and survey answers, results and decisions, rollouts, email campaigns, webhooks.',
  'Every `/v1` route needs `Authorization: Bearer <key>` (the **Authorize** button): each operation names the role it needs (`x-required-role`; `admin` may do everything). Signed links and the public routes need no key.',
  'Errors are `{"error": {"code", "message", "details?"}}` (schema `Error`): 400 names the invalid field and stores nothing, 401/403 for keys and roles, 404 for unknown things, 409 for conflicts and illegal state changes.',
  'This document is generated from the zod schemas that validate the requests.',
].join('\n\n');

/** The document of `routes`; throws when a route's path and params schema disagree, or one is declared twice. */
export function buildOpenApiDocument(routes: readonly DeclaredRoute[]): OpenApiDocument {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', SECURITY_SCHEME, {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'API key',
    description: 'An API key (`vk_…`, made by POST /v1/api-keys) or the admin key, sent as `Authorization: Bearer <key>`.',
  });
  const seen = new Set<string>();
  for (const route of routes) {
    const id = `${route.method.toUpperCase()} ${route.path}`;
    if (seen.has(id)) throw new Error(`${id} is declared twice`);
    seen.add(id);
    registry.registerPath(operation(route));
  }
  const tags = [...new Set(routes.map((route) => route.tag))].map((name) => ({ name }));
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: { title: 'Verdict API', version: '1', description: INFO_DESCRIPTION },
    tags,
  });
}

function accessNote(access: Access): string {
  if (access === 'public') return '**Public:** no API key.';
  if (access === 'signed-link') return '**Signed link:** no API key; the token the service signed into the URL is the proof.';
  return `**Role:** ${requiredRole(access)} (an API key with role ${access.roles.join(', ')}).`;
}

function contentOf(json: z.ZodType | undefined, other: Record<string, MediaSchema> = {}): Record<string, { schema: MediaSchema }> {
  const content: Record<string, { schema: MediaSchema }> = json ? { 'application/json': { schema: json } } : {};
  for (const [type, schema] of Object.entries(other)) content[type] = { schema };
  return content;
}

function operation({ method, path, tag, doc }: DeclaredRoute): RouteConfig {
  const { path: templated, names } = openApiPath(path);
  const declaredParams = doc.params ? Object.keys(doc.params.shape) : [];
  if ([...names].sort().join() !== [...declaredParams].sort().join()) {
    throw new Error(`${method.toUpperCase()} ${path}: the path names {${names.join(', ')}} but its params schema {${declaredParams.join(', ')}}`);
  }
  const keyed = typeof doc.access === 'function';
  const bodyContent = contentOf(doc.body, doc.requestContent);
  const bodySchemas = Object.values(bodyContent).map((media) => media.schema);
  const bodyRequired = bodySchemas.some((schema) => isZod(schema) && !schema.safeParse(undefined).success);
  return {
    method,
    path: templated,
    tags: [tag],
    summary: doc.summary,
    description: [doc.description, accessNote(doc.access)].filter(Boolean).join('\n\n'),
    security: keyed ? [{ [SECURITY_SCHEME]: [] }] : [],
    'x-access': keyed ? 'api-key' : doc.access,
    ...(typeof doc.access === 'function' ? { 'x-required-role': requiredRole(doc.access), 'x-allowed-roles': [...doc.access.roles] } : {}),
    request: {
      ...(doc.params ? { params: doc.params } : {}),
      ...(doc.query ? { query: doc.query } : {}),
      ...(doc.headers ? { headers: doc.headers } : {}),
      ...(bodySchemas.length > 0 ? { body: { content: bodyContent, required: bodyRequired } } : {}),
    },
    responses: responsesOf({ method, path, tag, doc }, bodySchemas.length > 0),
  };
}

function isZod(schema: MediaSchema): schema is z.ZodType {
  return typeof (schema as { safeParse?: unknown }).safeParse === 'function';
}

function responsesOf({ method, path, doc }: DeclaredRoute, hasBody: boolean): RouteConfig['responses'] {
  const out: Record<string, ResponseConfig> = {};
  for (const [status, response] of Object.entries(doc.responses)) {
    const content = contentOf(response.json, response.content);
    const headers = Object.entries(response.headers ?? {}).map(([name, description]) => [name, { description, schema: { type: 'string' as const } }] as const);
    out[status] = {
      description: response.description,
      ...(Object.keys(content).length > 0 ? { content } : {}),
      ...(headers.length > 0 ? { headers: Object.fromEntries(headers) } : {}),
    };
  }

  const errors = new Map<number, string[]>();
  const add = (status: number, text: string) => errors.set(status, [...(errors.get(status) ?? []), text]);
  const parsed = !doc.raw && (doc.params || doc.query || doc.body || doc.headers);
  if (parsed) add(400, '`validation_failed`: a path parameter, the query or the body is invalid; `details` names each field, and nothing is stored.');
  if (!doc.raw && doc.body) add(400, '`invalid_json`: the body is not JSON.');
  for (const [status, text] of Object.entries(doc.errors ?? {})) if (text) add(Number(status), text);
  if (typeof doc.access === 'function') {
    add(401, '`unauthorized`: no API key, or not a valid one.');
    add(403, `\`forbidden\`: the key's role may not call this route (it needs ${doc.access.roles.join(', ')}).`);
  }
  if (hasBody && doc.bodyLimit !== false) add(413, '`payload_too_large`: the body is over the limit (`BODY_LIMIT`, 1 MB by default).');
  const rateLimited = typeof doc.access !== 'function' && doc.rateLimited !== false;
  if (rateLimited) add(429, '`rate_limited`: too many requests from this client (`RATE_LIMIT_PUBLIC_PER_MINUTE`); `Retry-After` says when to try again. A browser gets a small HTML page instead.');
  add(500, '`internal`: an unexpected error; `details.requestId` finds it in the log.');

  for (const [status, texts] of errors) {
    if (out[status]) throw new Error(`${method.toUpperCase()} ${path}: status ${status} is declared both as an answer and as an error`);
    out[status] = {
      description: texts.join(' '),
      content: { 'application/json': { schema: errorBody }, ...(status === 429 ? { 'text/html': { schema: { type: 'string' } } } : {}) },
      ...(status === 429 ? { headers: { 'Retry-After': { description: 'seconds until the client may try again', schema: { type: 'string' } } } } : {}),
    };
  }
  return out;
}
