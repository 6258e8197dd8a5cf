import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { Router } from 'express';
import { MongoClient } from 'mongodb';
import supertest from 'supertest';
import { getConfig } from '../../config';
import { db } from '../../src/db/connection';
import { startEmbeddedDatabase } from '../../src/db/embedded-ferretdb';
import { ADMIN_KEY, api, testApp, type Api } from '../helpers/app';
import { eventId } from '../helpers/factories';
import { registerStopper } from '../helpers/resources';
import { childPids, tempDir } from '../helpers/service-process';

const ROOT = path.resolve(__dirname, '../..');

/** True while a process exists and has not exited (a zombie has exited). */
function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

describe('ops', () => {
  let client: Api;
  before(async () => {
    client = await api();
  });

  describe('health', () => {
    it('when /healthz is called, then 200 {status: ok} without a key', async () => {
      const res = await client.raw().get('/healthz');
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { status: 'ok' });
    });

    it('when /readyz is called with the database up, then 200 and database true', async () => {
      const res = await client.raw().get('/readyz');
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { status: 'ready', database: true });
    });
  });

  describe('bad requests', () => {
    it('when the body is over 1 MB, then 413 with the error shape and nothing is stored', async () => {
      const id = eventId();
      const padding = 'x'.repeat(1024 * 1024);
      const res = await client.post('/v1/events').send({ events: [{ eventId: id, customerId: 'big', name: 'email.open', properties: { padding } }] });
      assert.equal(res.status, 413);
      assert.equal(res.body.error.code, 'payload_too_large');
      const stored = await db().collection<{ _id: string }>('events').findOne({ _id: id });
      assert.equal(stored, null);
    });

    it('when the JSON is malformed, then 400 invalid_json naming the body', async () => {
      const res = await client.post('/v1/events').set('Content-Type', 'application/json').send('{"events": [');
      assert.equal(res.status, 400);
      assert.equal(res.body.error.code, 'invalid_json');
      assert.match(res.body.error.message, /body/);
    });

    it('when a route does not exist, then 404 JSON (after authentication under /v1)', async () => {
      const open = await client.raw().get('/no/such/route');
      assert.equal(open.status, 404);
      assert.equal(open.body.error.code, 'not_found');
      assert.match(open.body.error.message, /GET \/no\/such\/route/);
      const v1 = await client.get('/v1/no-such-thing');
      assert.equal(v1.status, 404);
      assert.equal(v1.body.error.code, 'not_found');
      const anonymous = await client.raw().get('/v1/no-such-thing');
      assert.equal(anonymous.status, 401, 'unauthenticated callers learn nothing about /v1 routes');
    });

    it('when any request is answered, then it carries an X-Request-Id', async () => {
      const res = await client.get('/v1/experiments');
      assert.match(res.headers['x-request-id'] ?? '', /^[0-9a-f-]{36}$/);
    });
  });

  describe('unexpected errors', () => {
    it('when a handler throws, then 500 with the request id and no stack trace or message', async () => {
      const boom = Router();
      boom.get('/ops-test/boom', () => {
        throw new Error('database password is hunter2 at /srv/verdict/src/secret.ts:12');
      });
      boom.get('/ops-test/reject', async () => {
        await Promise.resolve();
        throw new TypeError('cannot read properties of undefined');
      });
      const app = await testApp({ v1: [boom] });
      for (const url of ['/v1/ops-test/boom', '/v1/ops-test/reject']) {
        const res = await supertest(app).get(url).set('Authorization', `Bearer ${ADMIN_KEY}`);
        assert.equal(res.status, 500);
        assert.equal(res.body.error.code, 'internal');
        assert.equal(res.body.error.message, 'internal error');
        assert.equal(res.body.error.details.requestId, res.headers['x-request-id']);
        assert.ok(!res.text.includes('hunter2') && !res.text.includes('.ts:') && !res.text.includes('undefined'), res.text);
        assert.ok(!/\bat\s+\S+\s+\(/.test(res.text), 'no stack trace');
      }
    });
  });

  describe('embedded database durability', () => {
    it('when data is written, the database stopped and started again on the same DATA_DIR, then the data is still there', async () => {
      const dataDir = tempDir('verdict-durable-');
      const cacheDir = getConfig().ferretDbCacheDir;
      const docs = Array.from({ length: 50 }, (_, i) => ({ _id: `doc-${i}`, n: i, at: new Date(1_700_000_000_000 + i) }));

      const first = await startEmbeddedDatabase({ dataDir, cacheDir });
      registerStopper(() => first.stop());
      const writer = new MongoClient(first.uri);
      await writer.connect();
      await writer.db('durable').collection<{ _id: string; n: number; at: Date }>('things').insertMany(docs);
      await writer.db('durable').collection('things').updateOne({ _id: 'doc-7' as never }, { $set: { n: 700 } });
      await writer.close();
      await first.stop();

      const second = await startEmbeddedDatabase({ dataDir, cacheDir });
      registerStopper(() => second.stop());
      const reader = new MongoClient(second.uri);
      try {
        await reader.connect();
        const things = reader.db('durable').collection<{ _id: string; n: number; at: Date }>('things');
        assert.equal(await things.countDocuments(), 50);
        assert.deepEqual(await things.findOne({ _id: 'doc-3' }), docs[3]);
        assert.equal((await things.findOne({ _id: 'doc-7' }))!.n, 700, 'updates survive too');
      } finally {
        await reader.close();
        await second.stop();
      }
    });
  });

  describe('graceful shutdown', () => {
    it('when SIGTERM arrives while a request is in flight, then the request completes, the process exits 0 and FerretDB is gone', async function () {
      this.timeout(120_000);
      const dataDir = tempDir('verdict-shutdown-');
      const server: ChildProcess = spawn(process.execPath, ['-r', 'tsx/cjs', 'src/server.ts'], {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          NODE_ENV: 'test',
          PORT: '0',
          HOST: '127.0.0.1',
          LOG_LEVEL: 'silent',
          DATA_DIR: dataDir,
          FERRETDB_CACHE_DIR: getConfig().ferretDbCacheDir,
          ADMIN_API_KEY: ADMIN_KEY,
          TRACKING_SECRET: process.env.TRACKING_SECRET,
          PUBLIC_BASE_URL: 'https://verdict.test',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let ferretPids: number[] = [];
      registerStopper(async () => {
        if (server.exitCode === null && server.signalCode === null) server.kill('SIGKILL');
        for (const pid of ferretPids) if (alive(pid)) process.kill(pid, 'SIGKILL');
      });
      const exited = new Promise<number | null>((resolve) => server.once('exit', (code) => resolve(code)));
      let output = '';
      const url = await new Promise<string>((resolve, reject) => {
        server.stdout!.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          const match = /running at (http:\/\/\S+)/.exec(output);
          if (match) resolve(match[1]!);
        });
        server.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
        server.once('exit', (code) => reject(new Error(`server exited with ${code} before listening:\n${output}`)));
      });
      // Other children (tsx's esbuild) are not ours to check: only the FerretDB binary.
      ferretPids = childPids(server.pid!).filter((pid) => fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0]!.endsWith('/ferretdb'));
      assert.equal(ferretPids.length, 1, `the server runs one FerretDB child (found ${ferretPids.join(', ')})`);
      assert.ok(alive(ferretPids[0]!));

      // A request whose body is still arriving when SIGTERM is sent: it is in flight, deterministically.
      const key = `shutdown-${process.pid}`;
      const body = JSON.stringify({
        key,
        name: 'Shutdown test',
        assetType: 'page',
        variants: [
          { key: 'a', weight: 0.5, content: { url: 'https://a.example' } },
          { key: 'b', weight: 0.5, content: { url: 'https://b.example' } },
        ],
        metrics: { primary: 'conversion' },
      });
      const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = http.request(`${url}/v1/experiments`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), Authorization: `Bearer ${ADMIN_KEY}` },
        });
        req.on('response', (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString()));
          res.on('end', () => resolve({ status: res.statusCode!, body: text }));
        });
        req.on('error', reject);
        req.flushHeaders();
        req.write(body.slice(0, 20));
        setTimeout(() => {
          server.kill('SIGTERM');
          setTimeout(() => req.end(body.slice(20)), 300);
        }, 300);
      });
      const answer = await response;
      assert.equal(answer.status, 201, answer.body);
      assert.equal(JSON.parse(answer.body).key, key);

      assert.equal(await exited, 0, output);
      assert.ok(!alive(ferretPids[0]!), 'FerretDB stopped with the server (no orphan)');
      // The answer was durable: a fresh database on the same DATA_DIR has the experiment.
      const database = await startEmbeddedDatabase({ dataDir, cacheDir: getConfig().ferretDbCacheDir });
      const reader = new MongoClient(database.uri);
      try {
        await reader.connect();
        const stored = await reader.db('verdict') /* the child ran with the default MONGODB_DB */.collection<{ _id: string }>('experiments').findOne({ _id: key });
        assert.ok(stored, 'the experiment answered 201 during shutdown is stored');
      } finally {
        await reader.close();
        await database.stop();
      }
    });
  });
});
