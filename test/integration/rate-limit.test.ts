import assert from 'node:assert/strict';
import type { Express } from 'express';
import supertest from 'supertest';
import { ConfigError, parseConfig } from '../../config';
import { buildApp } from '../../src/app';
import { ADMIN_KEY, testApp } from '../helpers/app';

const LIMIT = 5;

/** Public, login-less routes, each answered without touching anything (bad tokens, unknown keys). */
const PUBLIC_ROUTES = ['/t/o/not-a-token', '/t/c/not-a-token', '/s/not-a-token', '/u/not-a-token', '/p/no-such-page?cid=c1', `/reports/no-such-report?token=1.${'A'.repeat(43)}`];

let clients = 0;
/** A client address of its own for each test (the limiter counts per client). */
function newClient(): string {
  clients++;
  return `203.0.113.${clients}`;
}

describe('public rate limit', () => {
  // The service's app as it is built with TRUST_PROXY=true (behind one reverse proxy, which sends
  // X-Forwarded-For) and RATE_LIMIT_PUBLIC_PER_MINUTE=5.
  let app: Express;
  before(async () => {
    await testApp();
    app = buildApp(parseConfig({ ...process.env, TRUST_PROXY: 'true', RATE_LIMIT_PUBLIC_PER_MINUTE: String(LIMIT) }));
  });

  const from = (client: string) => ({
    get: (url: string) => supertest(app).get(url).set('X-Forwarded-For', client),
    post: (url: string) => supertest(app).post(url).set('X-Forwarded-For', client),
  });

  /** Spends a client's allowance on the public routes; returns the answers. */
  async function spend(client: string, count = LIMIT) {
    const answers = [];
    for (let i = 0; i < count; i++) answers.push(await from(client).get(PUBLIC_ROUTES[i % PUBLIC_ROUTES.length]));
    return answers;
  }

  it('when a client goes beyond the limit on the public routes, then 429 rate_limited with the RateLimit headers and Retry-After', async () => {
    const client = newClient();
    const allowed = await spend(client);
    allowed.forEach((res, i) => {
      assert.notEqual(res.status, 429, `request ${i + 1} is within the limit`);
      assert.equal(res.headers['ratelimit-limit'], String(LIMIT));
      assert.equal(res.headers['ratelimit-remaining'], String(LIMIT - i - 1));
    });
    for (const url of PUBLIC_ROUTES) {
      const res = await from(client).get(url);
      assert.equal(res.status, 429, url);
      assert.match(res.headers['content-type'], /^application\/json/, url);
      assert.equal(res.body.error.code, 'rate_limited', url);
      assert.match(res.body.error.message, /too many requests/, url);
      assert.equal(res.headers['ratelimit-limit'], String(LIMIT));
      assert.equal(res.headers['ratelimit-remaining'], '0');
      assert.match(res.headers['ratelimit-reset'] ?? '', /^\d+$/);
      assert.match(res.headers['ratelimit-policy'] ?? '', new RegExp(`^${LIMIT};w=60$`));
      assert.match(res.headers['retry-after'] ?? '', /^\d+$/);
    }
    // POSTs (an unsubscribe, a survey comment) count too, and are refused before their body is read.
    const post = await from(client).post('/u/not-a-token').type('form').send('List-Unsubscribe=One-Click');
    assert.equal(post.status, 429);
  });

  it('when a browser is over the limit, then it gets a small HTML page (the API error shape for everything else)', async () => {
    const client = newClient();
    await spend(client);
    const res = await from(client).get('/s/not-a-token?score=4').set('Accept', 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8');
    assert.equal(res.status, 429);
    assert.match(res.headers['content-type'], /^text\/html/);
    assert.match(res.text, /<h1>Too many requests<\/h1>/);
    assert.equal(res.headers['cache-control'], 'no-store');
  });

  it('when a client is over the public limit, then its calls to the authenticated /v1 API are not limited', async () => {
    const client = newClient();
    await spend(client);
    assert.equal((await from(client).get(PUBLIC_ROUTES[0])).status, 429);
    for (let i = 0; i < LIMIT * 2; i++) {
      const res = await from(client).get('/v1/experiments?limit=1').set('Authorization', `Bearer ${ADMIN_KEY}`);
      assert.equal(res.status, 200, `API call ${i + 1}`);
      assert.equal(res.headers['ratelimit-limit'], undefined, 'the API is not counted');
    }
    // Nor are the health probes.
    assert.equal((await from(client).get('/healthz')).status, 200);
  });

  it('when one client is over the limit, then another client is not affected', async () => {
    const first = newClient();
    const second = newClient();
    await spend(first);
    assert.equal((await from(first).get(PUBLIC_ROUTES[0])).status, 429);
    const other = await from(second).get('/t/c/not-a-token');
    assert.equal(other.status, 404, 'answered as usual');
    assert.equal(other.headers['ratelimit-remaining'], String(LIMIT - 1));
  });

  it('when a client prepends made-up addresses to X-Forwarded-For, then it is still counted as itself (TRUST_PROXY=true believes one hop)', async () => {
    const client = newClient();
    for (let i = 0; i < LIMIT; i++) {
      const res = await supertest(app).get(PUBLIC_ROUTES[0]).set('X-Forwarded-For', `198.51.100.${i + 1}, ${client}`);
      assert.notEqual(res.status, 429);
    }
    const spoofed = await supertest(app).get(PUBLIC_ROUTES[0]).set('X-Forwarded-For', `198.51.100.200, ${client}`);
    assert.equal(spoofed.status, 429);
  });

  it('when the service runs with the default configuration, then the public routes are limited at 600 a minute and /v1 is not', async () => {
    const service = await testApp();
    const open = await supertest(service).get('/t/c/not-a-token');
    assert.equal(open.status, 404);
    assert.equal(open.headers['ratelimit-limit'], '600');
    const v1 = await supertest(service).get('/v1/experiments?limit=1').set('Authorization', `Bearer ${ADMIN_KEY}`);
    assert.equal(v1.status, 200);
    assert.equal(v1.headers['ratelimit-limit'], undefined);
  });

  it('when RATE_LIMIT_PUBLIC_PER_MINUTE=0, then nothing is limited; a bad value or TRUST_PROXY is refused, naming the variable', async () => {
    const unlimited = buildApp(parseConfig({ ...process.env, RATE_LIMIT_PUBLIC_PER_MINUTE: '0' }));
    const res = await supertest(unlimited).get('/t/c/not-a-token');
    assert.equal(res.status, 404);
    assert.equal(res.headers['ratelimit-limit'], undefined);
    for (const [name, value] of [
      ['RATE_LIMIT_PUBLIC_PER_MINUTE', '-1'],
      ['RATE_LIMIT_PUBLIC_PER_MINUTE', 'lots'],
      ['TRUST_PROXY', 'yes please'],
      ['TRUST_PROXY', '10.0.0.0/33'],
    ] as const) {
      assert.throws(() => parseConfig({ ...process.env, [name]: value }), (error: unknown) => error instanceof ConfigError && error.message.includes(`${name}:`), `${name}=${value}`);
    }
    // A list of proxies is Express's 'trust proxy' list.
    assert.deepEqual(parseConfig({ ...process.env, TRUST_PROXY: 'loopback, 10.0.0.0/8' }).TRUST_PROXY, ['loopback', '10.0.0.0/8']);
  });
});
