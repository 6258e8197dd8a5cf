// GET /openapi.json: an OpenAPI 3.1 document generated from the zod schemas (src/lib/openapi.ts). It must
// be valid, describe exactly the routes buildApp() mounts (the Express stack is walked), cover the README's
// API table with the roles it gives, and describe what the routes really answer: a scenario calls the
// routes and parses every answer with the schema the document was generated from.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Response as SupertestResponse } from 'supertest';
import { z } from 'zod';
import { getConfig } from '../../config';
import { buildApp } from '../../src/app';
import { errorBody } from '../../src/lib/errors';
import { buildOpenApiDocument, declaredRoutes, openApiDocument, openApiPath, type DeclaredRoute, type Method } from '../../src/lib/openapi';
import { requireRole } from '../../src/middleware/auth';
import { signToken } from '../../src/modules/tracking';
import { api, type Api } from '../helpers/app';
import { emailExperiment, eventId, experimentWithClearWinner, pageExperiment, runningExperiment, uniqueKey } from '../helpers/factories';

interface Layer {
  route?: { path: string | string[]; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
  rawPath?: unknown;
}

/** "METHOD /path" of every route an Express 5 app mounts, with the prefixes of the routers it sits in. */
function mountedRoutes(stack: Layer[], prefix = ''): string[] {
  const routes: string[] = [];
  for (const layer of stack) {
    if (layer.route) {
      const methods = Object.keys(layer.route.methods).filter((method) => layer.route!.methods[method]);
      for (const routePath of ([] as string[]).concat(layer.route.path)) for (const method of methods) routes.push(`${method.toUpperCase()} ${prefix}${routePath}`);
    } else if (layer.handle?.stack) {
      assert.ok(layer.rawPath === undefined || typeof layer.rawPath === 'string', `a router mounted at ${String(layer.rawPath)}: this walk reads string mount paths only`);
      const mount = typeof layer.rawPath === 'string' && layer.rawPath !== '/' ? layer.rawPath : '';
      routes.push(...mountedRoutes(layer.handle.stack, `${prefix}${mount}`));
    }
  }
  return routes;
}

interface Operation {
  security?: Record<string, string[]>[];
  description?: string;
  parameters?: { name: string; in: string }[];
  responses: Record<string, { content?: Record<string, { schema: JsonSchema }> }>;
  'x-access'?: string;
  'x-required-role'?: string;
  'x-allowed-roles'?: string[];
}
// A type, not an interface: the document is passed where a plain record (an index signature) is expected.
// eslint-disable-next-line @typescript-eslint/consistent-type-definitions
type Document = {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, { type: string; scheme: string }>; schemas: Record<string, JsonSchema> };
};

function operations(document: Document): { id: string; operation: Operation }[] {
  return Object.entries(document.paths).flatMap(([route, methods]) => Object.entries(methods).map(([method, operation]) => ({ id: `${method.toUpperCase()} ${route}`, operation })));
}

/** The routes of the README's API table, each with the roles its row names ("viewer / editor"). */
function readmeRoutes(readme: string): { route: string; roles: string[] }[] {
  const section = readme.split('\n## API (v1)\n')[1]?.split('\n## ')[0];
  assert.ok(section, 'the README has a section "## API (v1)"');
  const routes: { route: string; roles: string[] }[] = [];
  for (const line of section.split('\n').filter((l) => l.startsWith('| `'))) {
    const [first, roleCell] = line.slice(2).split(' | ');
    const roles = roleCell.split('/').map((role) => role.trim());
    let last: { methods: string[]; path: string } | undefined;
    for (const [, span] of first.matchAll(/`([^`]+)`/g)) {
      let methods: string[];
      let spanPath: string;
      const full = /^([A-Z|]+)\s+(\S+)$/.exec(span);
      if (full) [methods, spanPath] = [full[1].split('|'), full[2]];
      else if (/^[A-Z]+$/.test(span) && last) [methods, spanPath] = [[span], last.path];
      else if (/^[a-z][a-z-]*$/.test(span) && last) [methods, spanPath] = [last.methods, last.path.replace(/[^/]+$/, span)];
      else if (span.startsWith('?')) continue;
      else throw new Error(`README API table: cannot read \`${span}\` in: ${line}`);
      spanPath = spanPath.split('?')[0]!;
      last = { methods, path: spanPath };
      const optional = /\(([^)]+)\)/.exec(spanPath);
      const variants = optional ? [spanPath.replace(optional[0], ''), spanPath.replace(optional[0], optional[1])] : [spanPath];
      for (const method of methods) for (const variant of variants) routes.push({ route: `${method} ${variant}`, roles });
    }
  }
  return routes;
}

interface JsonSchema {
  $ref?: string;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  additionalProperties?: JsonSchema | boolean;
  items?: JsonSchema;
  prefixItems?: JsonSchema[];
}

/**
 * The fields of `value` its JSON Schema (from the document) does not name: an object's keys beyond its
 * `properties`, unless the schema allows more (a record). zod's parse strips such fields without a word.
 */
function undocumentedFields(schema: JsonSchema, value: unknown, components: Record<string, JsonSchema>, at = ''): string[] {
  if (schema.$ref) return undocumentedFields(components[schema.$ref.split('/').pop()!], value, components, at);
  const branches = schema.anyOf ?? schema.oneOf;
  if (branches) return branches.map((branch) => undocumentedFields(branch, value, components, at)).reduce((best, next) => (next.length < best.length ? next : best));
  if (schema.allOf) return schema.allOf.flatMap((part) => undocumentedFields(part, value, components, at));
  if (Array.isArray(value)) return value.flatMap((item, i) => { const itemSchema = schema.prefixItems?.[i] ?? schema.items; return itemSchema ? undocumentedFields(itemSchema, item, components, `${at}.${i}`) : []; });
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, child]) => {
    const fieldSchema = schema.properties?.[key] ?? (typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined);
    if (fieldSchema) return undocumentedFields(fieldSchema, child, components, `${at}.${key}`);
    return schema.properties ? [`${at}.${key}`.slice(1)] : [];
  });
}

/** Parameter names do not matter when the README and the document are compared (:id and {customerId}). */
function shape(route: string): string {
  return route.replace(/:[A-Za-z_][A-Za-z0-9_]*|\{[^}]+\}/g, '{}');
}

describe('OpenAPI document (GET /openapi.json)', () => {
  let client: Api;
  let document: Document;

  before(async () => {
    client = await api();
    const res = await client.raw().get('/openapi.json');
    assert.equal(res.status, 200, res.text.slice(0, 500));
    document = res.body as Document;
  });

  it('when it is read without a key, then it is an OpenAPI 3.1 document the validator accepts, whose $refs all resolve', async () => {
    const res = await client.raw().get('/openapi.json');
    assert.equal(res.status, 200);
    assert.match(res.headers['content-type'], /^application\/json/);
    assert.equal(document.openapi, '3.1.0');
    const { Validator } = await import('@seriousme/openapi-schema-validator');
    const validator = new Validator();
    // A copy: the validator resolves references in place.
    const result = await validator.validate(structuredClone(document));
    assert.deepEqual(result.errors, undefined, JSON.stringify(result.errors, null, 2)?.slice(0, 3000));
    assert.equal(result.valid, true);
    assert.equal(validator.version, '3.1');
    assert.doesNotThrow(() => validator.resolveRefs(), 'every $ref resolves');
    // Built once and kept: the same document on every request.
    assert.equal(openApiDocument(), openApiDocument());
    assert.deepEqual((await client.raw().get('/openapi.json')).body, document);
  });

  it('when the Express stack of buildApp() is walked, then every mounted route is in the document and every documented operation is mounted', () => {
    const app = buildApp(getConfig()) as unknown as { router: { stack: Layer[] } };
    const mounted = mountedRoutes(app.router.stack).map((route) => {
      const [method, routePath] = route.split(' ');
      return `${method} ${openApiPath(routePath).path}`;
    });
    assert.ok(mounted.length >= 50, `found ${mounted.length} routes`);
    const documented = operations(document).map((o) => o.id);
    const undocumented = mounted.filter((route) => !documented.includes(route));
    const unmounted = documented.filter((route) => !mounted.includes(route));
    assert.deepEqual(undocumented, [], `mounted but not in the document (declare them with documented() from src/lib/openapi.ts): ${undocumented.join(', ')}`);
    assert.deepEqual(unmounted, [], `in the document but not mounted by buildApp(): ${unmounted.join(', ')}`);
    assert.equal(new Set(mounted).size, mounted.length, 'no route is mounted twice');
  });

  it("when the README's API table is read, then each of its routes is documented with a role its row names, and each documented route is in the table", () => {
    const readme = fs.readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
    const table = readmeRoutes(readme);
    assert.ok(table.length >= 50, `read ${table.length} routes from the table`);
    const byShape = new Map(operations(document).map((o) => [shape(o.id), o.operation]));
    for (const { route, roles } of table) {
      const operation = byShape.get(shape(route));
      assert.ok(operation, `the README lists ${route}, which the document lacks`);
      const role = operation['x-required-role'] ?? (operation['x-access'] === 'signed-link' ? 'signed link' : operation['x-access']!);
      assert.ok(roles.includes(role), `${route}: the document says ${role}, the README row ${roles.join(' / ')}`);
    }
    // CORS preflights (OPTIONS) go with the route they precede.
    const listed = new Set(table.map((entry) => shape(entry.route)));
    const missing = operations(document).filter((o) => !o.id.startsWith('OPTIONS ') && !listed.has(shape(o.id))).map((o) => o.id);
    assert.deepEqual(missing, [], `documented but not in the README's API table: ${missing.join(', ')}`);
  });

  it('when an operation needs a key, then it names the bearer scheme, its role (x-required-role, x-allowed-roles, a line of its description) and its 401 and 403; the public and signed-link ones need no key', () => {
    assert.deepEqual(document.components.securitySchemes.apiKey, { ...document.components.securitySchemes.apiKey, type: 'http', scheme: 'bearer' });
    const roles = new Set(['admin', 'editor', 'viewer', 'ingest']);
    let keyed = 0;
    for (const { id, operation } of operations(document)) {
      const routePath = id.split(' ')[1];
      if (routePath.startsWith('/v1/')) {
        keyed++;
        assert.deepEqual(operation.security, [{ apiKey: [] }], id);
        assert.equal(operation['x-access'], 'api-key', id);
        assert.ok(roles.has(operation['x-required-role']!), `${id}: x-required-role ${operation['x-required-role']}`);
        assert.equal(operation['x-allowed-roles']![0], 'admin', id);
        assert.ok(operation['x-allowed-roles']!.includes(operation['x-required-role']!), id);
        assert.match(operation.description ?? '', new RegExp(`\\*\\*Role:\\*\\* ${operation['x-required-role']}\\b`), id);
        for (const status of ['401', '403']) assert.ok(operation.responses[status], `${id} documents ${status}`);
      } else {
        assert.deepEqual(operation.security, [], `${id} needs no key`);
        assert.ok(['public', 'signed-link'].includes(operation['x-access']!), `${id}: x-access ${operation['x-access']}`);
        assert.equal(operation['x-required-role'], undefined, id);
        assert.equal(operation.responses['401'], undefined, id);
      }
      // Every path parameter of the template is declared.
      const names = [...routePath.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      const declared = (operation.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name);
      assert.deepEqual(declared.sort(), names.sort(), `${id}: path parameters`);
    }
    assert.ok(keyed >= 40, `${keyed} keyed operations`);
    const roleOf = (id: string) => operations(document).find((o) => o.id === id)!.operation;
    assert.equal(roleOf('POST /v1/api-keys')['x-required-role'], 'admin');
    assert.equal(roleOf('POST /v1/experiments')['x-required-role'], 'editor');
    assert.deepEqual(roleOf('GET /v1/experiments')['x-allowed-roles'], ['admin', 'viewer', 'editor']);
    assert.equal(roleOf('POST /v1/events')['x-required-role'], 'ingest');
    assert.equal(roleOf('GET /t/c/{token}')['x-access'], 'signed-link');
    assert.equal(roleOf('GET /p/{experiment}')['x-access'], 'public');
  });

  it("when a route's path and its params schema disagree, or a route is declared twice, then the document is not built and the error names the route", () => {
    const route = (routePath: string, params?: z.ZodObject): DeclaredRoute => ({
      method: 'get',
      path: routePath,
      tag: 'Test',
      doc: { access: requireRole('viewer'), summary: 'a test route', ...(params ? { params } : {}), responses: { 200: { description: 'ok', json: z.object({ ok: z.boolean() }) } } },
    });
    assert.throws(() => buildOpenApiDocument([route('/v1/things/:id')]), /GET \/v1\/things\/:id: the path names \{id\} but its params schema \{\}/);
    assert.throws(() => buildOpenApiDocument([route('/v1/things/:id', z.object({ key: z.string() }))]), /the path names \{id\} but its params schema \{key\}/);
    assert.throws(() => buildOpenApiDocument([route('/v1/things'), route('/v1/things')]), /GET \/v1\/things is declared twice/);
    const built = buildOpenApiDocument([route('/v1/things/:id', z.object({ id: z.string() }))]) as unknown as Document;
    assert.deepEqual(Object.keys(built.paths), ['/v1/things/{id}']);
  });

  describe('the answers', () => {
    const checked = new Set<string>();

    /** Asserts that the answer's status, content type and JSON body are what the document declares for the route. */
    function check(method: Method, routePath: string, res: SupertestResponse): SupertestResponse {
      const id = `${method.toUpperCase()} ${routePath}`;
      const route = declaredRoutes().find((r) => r.method === method && r.path === routePath);
      assert.ok(route, `${id} is declared`);
      const operation = document.paths[openApiPath(routePath).path]?.[method];
      const documented = operation?.responses[String(res.status)];
      assert.ok(documented, `${id} answered ${res.status} (${res.text?.slice(0, 300)}), which the document does not declare (${Object.keys(operation?.responses ?? {}).join(', ')})`);
      const type = res.headers['content-type']?.split(';')[0];
      // A redirect's body is Express's "Found. Redirecting to ..." note, which nobody reads: not declared.
      if (res.status >= 300 && res.status < 400) assert.equal(documented.content, undefined, `${id} ${res.status}: a redirect declared with a body`);
      else if (type) assert.ok(documented.content && type in documented.content, `${id} ${res.status}: ${type} is not among the declared ${Object.keys(documented.content ?? {}).join(', ')}`);
      else assert.equal(documented.content, undefined, `${id} ${res.status}: declared with a body, answered without`);
      if (type === 'application/json') {
        const schema = route.doc.responses[res.status]?.json ?? errorBody;
        const parsed = schema.safeParse(res.body);
        assert.ok(parsed.success, `${id} ${res.status}: ${parsed.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}\n${JSON.stringify(res.body).slice(0, 1500)}`);
        const extra = undocumentedFields(documented.content!['application/json'].schema, res.body, document.components.schemas);
        assert.deepEqual(extra, [], `${id} ${res.status} answers fields the document does not name: ${extra.join(', ')}`);
      }
      checked.add(`${id} ${res.status}`);
      return res;
    }

    it('when experiments are created, edited, started, assigned, counted, analysed, shared, rolled out and archived, then every answer is one the document declares', async function () {
      this.timeout(120_000);
      const body = emailExperiment({ targeting: { country: { $in: ['AE', 'IR'] } }, metrics: { primary: 'email_open', secondary: ['email_click', 'csat', 'basket'], guardrails: ['unsubscribe'], custom: [{ key: 'basket', kind: 'mean', event: 'basket', direction: 'increase' }] } });
      const key = body.key;
      check('post', '/v1/experiments', await client.post('/v1/experiments').send(body));
      check('post', '/v1/experiments', await client.post('/v1/experiments').send(body)); // 409
      check('post', '/v1/experiments', await client.post('/v1/experiments').send({ ...body, key: uniqueKey(), variants: [] })); // 400
      check('post', '/v1/experiments', await client.raw().post('/v1/experiments').send(body)); // 401
      check('get', '/v1/experiments', await client.get('/v1/experiments?limit=3'));
      check('get', '/v1/experiments/:key', await client.get(`/v1/experiments/${key}`));
      check('get', '/v1/experiments/:key', await client.get(`/v1/experiments/${uniqueKey()}`)); // 404
      check('patch', '/v1/experiments/:key', await client.patch(`/v1/experiments/${key}`).send({ name: 'Renamed' }));
      check('post', '/v1/experiments/:key/start', await client.post(`/v1/experiments/${key}/start`));
      check('post', '/v1/experiments/:key/start', await client.post(`/v1/experiments/${key}/start`)); // 409
      check('patch', '/v1/experiments/:key', await client.patch(`/v1/experiments/${key}`).send({ seed: 'other' })); // 409

      const customer = uniqueKey('cust');
      const assigned = check('post', '/v1/assignments', await client.post('/v1/assignments').send({ experiment: key, customerId: customer, attributes: { country: 'AE' } }));
      assert.equal(assigned.body.inExperiment, true);
      check('post', '/v1/assignments', await client.post('/v1/assignments').send({ experiment: key, customerId: uniqueKey('cust') })); // not_targeted
      check('post', '/v1/assignments', await client.post('/v1/assignments').send({ experiment: key, customerId: customer, forceVariant: 'nope' })); // 400
      const customers = Array.from({ length: 20 }, (_, i) => ({ customerId: `${key}-c${i}`, attributes: { country: 'IR' } }));
      check('post', '/v1/assignments/batch', await client.post('/v1/assignments/batch').send({ experiment: key, customers }));
      check('get', '/v1/experiments/:key/assignments', await client.get(`/v1/experiments/${key}/assignments?limit=5`));
      check('get', '/v1/customers/:customerId/assignments', await client.get(`/v1/customers/${customer}/assignments`));

      const events = customers.flatMap((c, i) => [
        { eventId: eventId(), customerId: c.customerId, name: 'email.open', experiment: key },
        ...(i % 3 === 0 ? [{ eventId: eventId(), customerId: c.customerId, name: 'basket', value: 10 + i, experiment: key }] : []),
      ]);
      check('post', '/v1/events', await client.post('/v1/events').send({ events }));
      const responseId = uniqueKey('resp');
      for (const c of customers.slice(0, 8)) check('post', '/v1/responses', await client.post('/v1/responses').send({ customerId: c.customerId, metric: 'csat', score: 2 + (c.customerId.length % 4), experiment: key }));
      check('post', '/v1/responses', await client.post('/v1/responses').send({ responseId, customerId: customer, metric: 'nps', score: 9 }));
      check('post', '/v1/responses', await client.post('/v1/responses').send({ responseId, customerId: customer, metric: 'nps', score: 9 })); // 200 duplicate
      check('get', '/v1/experiments/:key/summary', await client.get(`/v1/experiments/${key}/summary`));
      check('get', '/v1/experiments/:key/results', await client.get(`/v1/experiments/${key}/results`));
      check('get', '/v1/experiments/:key/results.csv', await client.get(`/v1/experiments/${key}/results.csv?stale=ok`));
      check('get', '/v1/experiments/:key/results/timeseries', await client.get(`/v1/experiments/${key}/results/timeseries?metric=csat`));
      check('get', '/v1/experiments/:key/results/timeseries', await client.get(`/v1/experiments/${key}/results/timeseries?metric=nope`)); // 400
      check('post', '/v1/experiments/:key/recompute', await client.post(`/v1/experiments/${key}/recompute`));

      const shared = check('post', '/v1/experiments/:key/share', await client.post(`/v1/experiments/${key}/share`).send({ expiresIn: 'P1D' }));
      const reportUrl = new URL(shared.body.url as string);
      check('get', '/reports/:key', await client.raw().get(`${reportUrl.pathname}${reportUrl.search}`));
      check('get', '/reports/:key', await client.raw().get(`${reportUrl.pathname}?token=forged`)); // 404 page

      check('post', '/v1/experiments/:key/pause', await client.post(`/v1/experiments/${key}/pause`));
      check('post', '/v1/experiments/:key/resume', await client.post(`/v1/experiments/${key}/resume`));
      check('post', '/v1/experiments/:key/rollout', await client.post(`/v1/experiments/${key}/rollout`).send({})); // 409: not ship
      check('post', '/v1/experiments/:key/stop', await client.post(`/v1/experiments/${key}/stop`));
      check('post', '/v1/experiments/:key/rollout', await client.post(`/v1/experiments/${key}/rollout`).send({ variant: 'friendly', force: true }));
      check('post', '/v1/assignments', await client.post('/v1/assignments').send({ experiment: key, customerId: uniqueKey('cust') })); // rollout
      check('post', '/v1/experiments/:key/rollback', await client.post(`/v1/experiments/${key}/rollback`));
      check('post', '/v1/experiments/:key/rollback', await client.post(`/v1/experiments/${key}/rollback`)); // 409
      check('get', '/v1/experiments/:key/history', await client.get(`/v1/experiments/${key}/history`));
      check('delete', '/v1/experiments/:key', await client.delete(`/v1/experiments/${key}`)); // archived: 200
      const draft = emailExperiment();
      check('post', '/v1/experiments', await client.post('/v1/experiments').send(draft));
      check('delete', '/v1/experiments/:key', await client.delete(`/v1/experiments/${draft.key}`)); // deleted: 204

      // A clear winner: the results name a variant and the rollout needs no force.
      const winner = await experimentWithClearWinner(client);
      check('get', '/v1/experiments/:key/results', await client.get(`/v1/experiments/${winner.key}/results`));
      check('post', '/v1/experiments/:key/rollout', await client.post(`/v1/experiments/${winner.key}/rollout`));

      const page = await runningExperiment(client, pageExperiment());
      check('get', '/p/:experiment', await client.raw().get(`/p/${page}?cid=${uniqueKey('cust')}`));
      check('get', '/p/:experiment', await client.raw().get(`/p/${key}?cid=someone`)); // 404: an email experiment
      check('get', '/p/:experiment', await client.raw().get(`/p/${page}`)); // 400: no cid
      for (const seen of ['POST /v1/experiments 201', 'POST /v1/experiments 409', 'POST /v1/experiments 400', 'POST /v1/experiments 401', 'DELETE /v1/experiments/:key 200', 'DELETE /v1/experiments/:key 204', 'POST /v1/responses 200', 'GET /reports/:key 404', 'GET /p/:experiment 302']) {
        assert.ok(checked.has(seen), `the scenario saw ${seen}`);
      }
    });

    it('when keys, webhooks, campaigns, tracking links, the probes and the reference are used, then every answer is one the document declares', async function () {
      this.timeout(120_000);
      const createdKey = check('post', '/v1/api-keys', await client.post('/v1/api-keys').send({ name: 'openapi viewer', role: 'viewer' }));
      check('get', '/v1/api-keys', await client.get('/v1/api-keys'));
      const viewer = await api(createdKey.body.key as string);
      check('post', '/v1/experiments', await viewer.post('/v1/experiments').send(emailExperiment())); // 403
      check('get', '/v1/experiments', await viewer.get('/v1/experiments'));
      check('delete', '/v1/api-keys/:id', await client.delete(`/v1/api-keys/${createdKey.body.id}`));
      check('delete', '/v1/api-keys/:id', await client.delete(`/v1/api-keys/${'0'.repeat(64)}`)); // 404

      const hook = check('post', '/v1/webhooks', await client.post('/v1/webhooks').set('Idempotency-Key', uniqueKey('idem')).send({ url: 'https://93.184.215.14/verdict-hooks', events: ['decision.changed'] }));
      check('post', '/v1/webhooks', await client.post('/v1/webhooks').send({ url: 'http://127.0.0.1:9/hook', events: ['srm.detected'] })); // 400: private
      check('get', '/v1/webhooks', await client.get('/v1/webhooks'));
      check('get', '/v1/webhooks/:id/deliveries', await client.get(`/v1/webhooks/${hook.body.id}/deliveries`));
      check('delete', '/v1/webhooks/:id', await client.delete(`/v1/webhooks/${hook.body.id}`));
      check('delete', '/v1/webhooks/:id', await client.delete(`/v1/webhooks/${hook.body.id}`)); // 404

      const metric = uniqueKey('metric').replace(/-/g, '_');
      const reopen = { key: metric, name: 'Ticket reopen rate', kind: 'ratio', direction: 'decrease', numerator: { event: 'ticket.reopened', value: 'count' }, denominator: { event: 'ticket.resolved', value: 'count', filter: { 'properties.channel': 'email' } }, window: { duration: 'P30D' } };
      check('post', '/v1/metrics', await client.post('/v1/metrics').send(reopen));
      check('post', '/v1/metrics', await client.post('/v1/metrics').send(reopen)); // 409
      check('post', '/v1/metrics', await client.post('/v1/metrics').send({ ...reopen, key: 'Bad' })); // 400
      check('get', '/v1/metrics', await client.get('/v1/metrics'));
      check('get', '/v1/metrics/:key', await client.get(`/v1/metrics/${metric}`));
      check('get', '/v1/metrics/:key', await client.get('/v1/metrics/csat'));
      check('get', '/v1/metrics/:key', await client.get('/v1/metrics/no_such_metric')); // 404
      check('patch', '/v1/metrics/:key', await client.patch(`/v1/metrics/${metric}`).send({ name: 'Reopened per resolved' }));
      check('patch', '/v1/metrics/:key', await client.patch('/v1/metrics/csat').send({ name: 'x' })); // 409
      check('delete', '/v1/metrics/:key', await client.delete(`/v1/metrics/${metric}`));
      check('delete', '/v1/metrics/:key', await client.delete(`/v1/metrics/${metric}`)); // 404

      const experiment = await runningExperiment(client, emailExperiment({ metrics: { primary: 'email_open', secondary: ['email_click', 'csat'], guardrails: ['unsubscribe'] } }));
      const campaign = uniqueKey('camp');
      check('post', '/v1/campaigns', await client.post('/v1/campaigns').send({ key: campaign, experiment, from: 'Acme CX <cx@acme.example>', winnerPolicy: { after: 'PT4H', onInconclusive: 'send_control' } }));
      check('get', '/v1/campaigns', await client.get(`/v1/campaigns?experiment=${experiment}`));
      check('get', '/v1/campaigns/:key/recipients', await client.get(`/v1/campaigns/${campaign}/recipients`)); // nothing exported yet
      check('post', '/v1/campaigns/:key/send-test', await client.post(`/v1/campaigns/${campaign}/send-test`)); // 409: no audience
      const recipients = Array.from({ length: 12 }, (_, i) => ({ customerId: `${campaign}-c${i}`, email: `${campaign}.c${i}@example.org`, name: `Customer ${i}` }));
      check('post', '/v1/campaigns/:key/audience', await client.post(`/v1/campaigns/${campaign}/audience`).send([...recipients, { customerId: 'bad', email: 'not-an-address' }])); // 400
      check('post', '/v1/campaigns/:key/audience', await client.post(`/v1/campaigns/${campaign}/audience`).set('Content-Type', 'text/plain').send('x')); // 415
      check('post', '/v1/campaigns/:key/audience', await client.post(`/v1/campaigns/${campaign}/audience`).send(recipients));
      check('post', '/v1/campaigns/:key/recipients', await client.post(`/v1/campaigns/${campaign}/recipients?group=all`));
      check('get', '/v1/campaigns/:key/recipients', await client.get(`/v1/campaigns/${campaign}/recipients?group=all`));
      check('get', '/v1/campaigns/:key/recipients', await client.get(`/v1/campaigns/${campaign}/recipients?format=csv`));
      check('get', '/v1/campaigns/:key/recipients.csv', await client.get(`/v1/campaigns/${campaign}/recipients.csv`));
      check('post', '/v1/campaigns/:key/send-test', await client.post(`/v1/campaigns/${campaign}/send-test`));
      check('get', '/v1/campaigns/:key/outbox', await client.get(`/v1/campaigns/${campaign}/outbox`));
      check('post', '/v1/campaigns/:key/send-winner', await client.post(`/v1/campaigns/${campaign}/send-winner`).send({ variant: 'control' }));
      check('get', '/v1/campaigns/:key', await client.get(`/v1/campaigns/${campaign}`));
      check('get', '/v1/campaigns/:key', await client.get(`/v1/campaigns/${uniqueKey('camp')}`)); // 404

      const link = { messageId: uniqueKey('msg'), customerId: uniqueKey('cust'), experiment, variant: 'control' };
      check('get', '/t/o/:token', await client.raw().get(`/t/o/${signToken({ ...link, purpose: 'open' })}`));
      check('get', '/t/c/:token', await client.raw().get(`/t/c/${signToken({ ...link, purpose: 'click', target: 'https://acme.example/start' })}`));
      check('get', '/t/c/:token', await client.raw().get('/t/c/forged')); // 404
      const survey = signToken({ ...link, purpose: 'survey', target: 'csat' });
      check('get', '/s/:token', await client.raw().get(`/s/${survey}?score=5`));
      check('get', '/s/:token', await client.raw().get(`/s/${survey}?score=11`)); // 400 page
      check('post', '/s/:token', await client.raw().post(`/s/${survey}`).type('form').send({ score: '5', comment: 'Clear' }));
      check('get', '/s/:token', await client.raw().get('/s/forged?score=5')); // 404 page
      const unsubscribe = signToken({ ...link, purpose: 'unsubscribe' });
      check('get', '/u/:token', await client.raw().get(`/u/${unsubscribe}`));
      check('post', '/u/:token', await client.raw().post(`/u/${unsubscribe}`).type('form').send({ 'List-Unsubscribe': 'One-Click' }));

      check('get', '/healthz', await client.raw().get('/healthz'));
      check('get', '/readyz', await client.raw().get('/readyz'));
      check('get', '/openapi.json', await client.raw().get('/openapi.json'));
      check('get', '/docs', await client.raw().get('/docs'));
      check('post', '/v1/events', await client.post('/v1/events').set('Content-Type', 'application/json').send('{"events": [')); // 400 invalid_json
      check('post', '/v1/events', await client.post('/v1/events').send({ events: [{ eventId: 'e', customerId: 'c', name: 'x'.repeat(2_000_000) }] })); // 413
      for (const seen of ['POST /v1/experiments 403', 'POST /v1/campaigns/:key/audience 415', 'GET /t/c/:token 302', 'GET /t/c/:token 404', 'GET /s/:token 400', 'POST /v1/events 400', 'POST /v1/events 413']) {
        assert.ok(checked.has(seen), `the scenario saw ${seen}`);
      }
    });
  });
});
