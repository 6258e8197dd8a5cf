import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { db } from '../../src/db/connection';
import { api, type Api } from '../helpers/app';
import { emailExperiment, eventId, runningExperiment } from '../helpers/factories';

type Role = 'admin' | 'editor' | 'viewer' | 'ingest';

async function createKey(admin: Api, role: Role, name = `${role} key`) {
  const res = await admin.post('/v1/api-keys').send({ name, role });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body as { id: string; key: string; name: string; role: Role; prefix: string; revokedAt: null };
}

describe('auth and API keys', () => {
  let admin: Api;
  before(async () => {
    admin = await api();
  });

  describe('authentication', () => {
    it('when the Authorization header is missing, then 401 with the error shape', async () => {
      const res = await admin.raw().get('/v1/experiments');
      assert.equal(res.status, 401);
      assert.equal(res.body.error.code, 'unauthorized');
      assert.match(res.body.error.message, /Bearer/);
    });

    it('when the key is wrong, then 401', async () => {
      const res = await (await api('vk_not-a-real-key-at-all')).get('/v1/experiments');
      assert.equal(res.status, 401);
      assert.equal(res.body.error.code, 'unauthorized');
    });

    it('when the header is not a Bearer token, then 401', async () => {
      const res = await admin.raw().get('/v1/experiments').set('Authorization', 'Basic dXNlcjpwYXNz');
      assert.equal(res.status, 401);
    });

    it('when the admin key from ADMIN_API_KEY is sent, then /v1 answers', async () => {
      const res = await admin.get('/v1/experiments');
      assert.equal(res.status, 200);
    });

    it('when a public route (/healthz) is called without a key, then it answers', async () => {
      const res = await admin.raw().get('/healthz');
      assert.equal(res.status, 200);
    });
  });

  describe('API keys', () => {
    it('when an admin creates a key, then 201 returns it once and only its SHA-256 is stored', async () => {
      const created = await createKey(admin, 'viewer', 'dashboard');
      assert.match(created.key, /^vk_/);
      assert.equal(created.name, 'dashboard');
      assert.equal(created.role, 'viewer');
      assert.equal(created.revokedAt, null);
      assert.equal(created.id, createHash('sha256').update(created.key).digest('hex'));
      assert.equal(created.prefix, created.key.slice(0, created.prefix.length));
      assert.ok(created.prefix.length < 10, 'the stored prefix must not reveal the key');

      const stored = await db().collection<{ _id: string; role: string }>('api_keys').find({}).toArray();
      const serialized = JSON.stringify(stored);
      assert.ok(!serialized.includes(created.key), 'the plaintext key must not be stored');
      const mine = stored.find((doc) => doc._id === created.id);
      assert.ok(mine, 'the key is stored under its hash');
      assert.equal(mine.role, 'viewer');

      const listed = await admin.get('/v1/api-keys');
      assert.equal(listed.status, 200);
      const entry = listed.body.apiKeys.find((k: { id: string }) => k.id === created.id);
      assert.ok(entry);
      assert.equal(entry.key, undefined, 'listing never returns the key');
      assert.ok(!JSON.stringify(listed.body).includes(created.key));
    });

    it('when a key is created with each role, then it authenticates', async () => {
      for (const role of ['admin', 'editor', 'viewer', 'ingest'] as const) {
        const created = await createKey(admin, role);
        const client = await api(created.key);
        // Every role may reach some route; 401 would mean the key is not recognised.
        const res = await client.get('/v1/experiments');
        assert.notEqual(res.status, 401, `${role} key was not recognised`);
      }
    });

    it('when the role or name is invalid, then 400 names the field and no key is stored', async () => {
      const before = await db().collection('api_keys').countDocuments();
      const badRole = await admin.post('/v1/api-keys').send({ name: 'x', role: 'owner' });
      assert.equal(badRole.status, 400);
      assert.equal(badRole.body.error.code, 'validation_failed');
      assert.ok(badRole.body.error.details.some((d: { path: string }) => d.path === 'role'));
      const noName = await admin.post('/v1/api-keys').send({ role: 'viewer' });
      assert.equal(noName.status, 400);
      assert.ok(noName.body.error.details.some((d: { path: string }) => d.path === 'name'));
      assert.equal(await db().collection('api_keys').countDocuments(), before);
    });

    it('when a key is revoked, then it answers 401 from then on', async () => {
      const created = await createKey(admin, 'editor', 'to revoke');
      const client = await api(created.key);
      assert.equal((await client.get('/v1/experiments')).status, 200);
      const revoked = await admin.delete(`/v1/api-keys/${created.id}`);
      assert.equal(revoked.status, 200);
      assert.ok(revoked.body.revokedAt);
      const after = await client.get('/v1/experiments');
      assert.equal(after.status, 401);
    });

    it('when an unknown key id is revoked, then 404; when the id is malformed, then 400', async () => {
      const unknown = await admin.delete(`/v1/api-keys/${'a'.repeat(64)}`);
      assert.equal(unknown.status, 404);
      const malformed = await admin.delete('/v1/api-keys/not-an-id');
      assert.equal(malformed.status, 400);
      assert.ok(malformed.body.error.details.some((d: { path: string }) => d.path === 'id'));
    });
  });

  describe('roles', () => {
    const keys = {} as Record<Role, Api>;
    let running: string;
    before(async () => {
      for (const role of ['admin', 'editor', 'viewer', 'ingest'] as const) keys[role] = await api((await createKey(admin, role)).key);
      running = await runningExperiment(admin, emailExperiment());
    });

    // Each row: a representative route, and which roles it lets through (the others get 403).
    const routes: { name: string; allowed: Role[]; call: (c: Api) => Promise<{ status: number }> }[] = [
      { name: 'POST /v1/api-keys', allowed: ['admin'], call: (c) => c.post('/v1/api-keys').send({ name: 'k', role: 'viewer' }) },
      { name: 'GET /v1/api-keys', allowed: ['admin'], call: (c) => c.get('/v1/api-keys') },
      { name: 'POST /v1/experiments', allowed: ['admin', 'editor'], call: (c) => c.post('/v1/experiments').send(emailExperiment()) },
      { name: 'GET /v1/experiments', allowed: ['admin', 'editor', 'viewer'], call: (c) => c.get('/v1/experiments') },
      { name: 'GET /v1/experiments/:key/summary', allowed: ['admin', 'editor', 'viewer'], call: (c) => c.get(`/v1/experiments/${running}/summary`) },
      { name: 'POST /v1/assignments', allowed: ['admin', 'editor', 'ingest'], call: (c) => c.post('/v1/assignments').send({ experiment: running, customerId: 'role-check' }) },
      { name: 'POST /v1/events', allowed: ['admin', 'editor', 'ingest'], call: (c) => c.post('/v1/events').send({ events: [{ eventId: eventId(), customerId: 'role-check', name: 'email.open' }] }) },
      { name: 'POST /v1/responses', allowed: ['admin', 'editor', 'ingest'], call: (c) => c.post('/v1/responses').send({ customerId: 'role-check', metric: 'csat', score: 5 }) },
    ];

    for (const route of routes) {
      it(`when each role calls ${route.name}, then ${route.allowed.join('/')} pass and the others get 403`, async () => {
        for (const role of ['admin', 'editor', 'viewer', 'ingest'] as const) {
          const res = await route.call(keys[role]);
          if (route.allowed.includes(role)) {
            assert.ok(res.status >= 200 && res.status < 300, `${role} on ${route.name}: expected 2xx, got ${res.status}`);
          } else {
            assert.equal(res.status, 403, `${role} on ${route.name}: expected 403, got ${res.status}`);
            assert.equal((res as unknown as { body: { error: { code: string } } }).body.error.code, 'forbidden');
          }
        }
      });
    }

    it('when a viewer tries to start an experiment, then 403 and it stays a draft', async () => {
      const body = emailExperiment();
      assert.equal((await admin.post('/v1/experiments').send(body)).status, 201);
      const res = await keys.viewer.post(`/v1/experiments/${body.key}/start`);
      assert.equal(res.status, 403);
      assert.equal((await admin.get(`/v1/experiments/${body.key}`)).body.status, 'draft');
    });
  });
});
