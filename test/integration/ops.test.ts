import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
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
import { childPids, ferretDbChildren, startServiceProcess, startStandaloneDatabase, tempDir, withOutputOnFailure } from '../helpers/service-process';

const ROOT = path.resolve(__dirname, '../..');

/** True while a process exists and has not exited (a zombie has exited). */
function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits for a promise, at most timeoutMs (a bound on behaviour, not a performance assertion). */
async function within<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls until condition holds, at most timeoutMs. */
async function until(condition: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** One HTTP/1.1 keep-alive connection driven byte by byte, as a load balancer's or an SDK's agent holds it. */
class KeepAliveConnection {
  private buffer = Buffer.alloc(0);
  private wake: (() => void) | undefined;
  isClosed = false;
  readonly closed: Promise<void>;

  private constructor(readonly socket: net.Socket) {
    const wake = () => this.wake?.();
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      wake();
    });
    socket.on('error', () => undefined); // a reset shows as the close
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.isClosed = true;
        wake();
        resolve();
      }),
    );
  }

  static open(port: number): Promise<KeepAliveConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => resolve(new KeepAliveConnection(socket)));
      socket.once('error', reject);
    });
  }

  write(text: string): void {
    this.socket.write(text);
  }

  /** The next complete answer (status line, headers and Content-Length bytes of body). */
  async answer(): Promise<RawAnswer> {
    for (;;) {
      const answer = this.parse();
      if (answer) return answer;
      if (this.isClosed) throw new Error(`the connection closed before a complete answer: ${JSON.stringify(this.buffer.toString())}`);
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  private parse(): RawAnswer | undefined {
    const end = this.buffer.indexOf('\r\n\r\n');
    if (end < 0) return undefined;
    const [statusLine, ...lines] = this.buffer.subarray(0, end).toString('latin1').split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of lines) headers[line.slice(0, line.indexOf(':')).trim().toLowerCase()] = line.slice(line.indexOf(':') + 1).trim();
    const length = Number(headers['content-length']);
    assert.ok(Number.isInteger(length), `an answer with a Content-Length: ${statusLine} ${JSON.stringify(headers)}`);
    if (this.buffer.length < end + 4 + length) return undefined;
    const body = this.buffer.subarray(end + 4, end + 4 + length).toString('utf8');
    this.buffer = this.buffer.subarray(end + 4 + length);
    return { status: Number(statusLine.split(' ')[1]), headers, body };
  }
}

function experimentBody(key: string): string {
  return JSON.stringify({
    key,
    name: 'Shutdown test',
    assetType: 'page',
    variants: [
      { key: 'a', weight: 0.5, content: { url: 'https://a.example' } },
      { key: 'b', weight: 0.5, content: { url: 'https://b.example' } },
    ],
    metrics: { primary: 'conversion' },
  });
}

function postExperiment(key: string): { head: string; body: string } {
  const body = experimentBody(key);
  const head = `POST /v1/experiments HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${ADMIN_KEY}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`;
  return { head, body };
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
          if (match) resolve(match[1]);
        });
        server.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
        server.once('exit', (code) => reject(new Error(`server exited with ${code} before listening:\n${output}`)));
      });
      // Other children (tsx's esbuild) are not ours to check: only the FerretDB binary.
      ferretPids = childPids(server.pid!).filter((pid) => fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0].endsWith('/ferretdb'));
      assert.equal(ferretPids.length, 1, `the server runs one FerretDB child (found ${ferretPids.join(', ')})`);
      assert.ok(alive(ferretPids[0]));

      // A request whose body is still arriving when SIGTERM is sent: it is in flight, deterministically.
      const key = `shutdown-${process.pid}`;
      const body = experimentBody(key);
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
      assert.ok(!alive(ferretPids[0]), 'FerretDB stopped with the server (no orphan)');
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

    it('when SIGTERM arrives while keep-alive connections are busy and others idle, then the idle ones close at once, every request in flight is answered in full with Connection: close, and the process exits 0 well before the forced exit', async function () {
      this.timeout(120_000);
      const service = await startServiceProcess({ dataDir: tempDir('verdict-keepalive-') });
      await withOutputOnFailure(
        () => [service],
        async () => {
          const connections = await Promise.all(Array.from({ length: 8 }, () => KeepAliveConnection.open(service.port)));
          for (const connection of connections) {
            connection.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
            const answer = await connection.answer();
            assert.equal(answer.status, 200);
            assert.equal(answer.headers.connection, 'keep-alive', 'a keep-alive connection before the shutdown');
          }
          const busy = connections.slice(0, 5);
          const idle = connections.slice(5);
          // In flight at SIGTERM: three requests whose body is still arriving, two whose headers are.
          const requests = busy.map((connection, i) => {
            const key = `keepalive-${process.pid}-${i}`;
            const { head, body } = postExperiment(key);
            const whole = head + body;
            const sent = i < 3 ? head.length + 20 : head.length - 12;
            connection.write(whole.slice(0, sent));
            return { connection, key, rest: whole.slice(sent) };
          });
          await sleep(300); // the service has read what was sent
          const answers = requests.map(({ connection }) => connection.answer());
          process.kill(service.pid, 'SIGTERM');

          // The idle connections are closed while the requests are still in flight; the busy ones stay.
          await within(Promise.all(idle.map((connection) => connection.closed)), 5_000, 'the idle connections to close');
          assert.deepEqual(
            busy.map((connection) => connection.isClosed),
            busy.map(() => false),
            'the busy connections stay open',
          );

          for (const { connection, rest } of requests) connection.write(rest);
          const answered = await within(Promise.all(answers), 20_000, 'the answers to the requests in flight');
          answered.forEach((answer, i) => {
            assert.equal(answer.status, 201, answer.body);
            assert.equal(JSON.parse(answer.body).key, requests[i].key, 'a complete answer');
            assert.equal(answer.headers.connection, 'close', `answer ${i + 1} tells the client the connection ends`);
          });
          // Each busy connection ends after its answer, and the process exits cleanly, before the forced exit (15 s).
          await within(Promise.all(busy.map((connection) => connection.closed)), 5_000, 'the service to close the busy connections');
          assert.deepEqual(await within(service.exited, 10_000, 'the service to exit'), { code: 0, signal: null });
        },
      );
    });
  });

  describe('database loss', () => {
    it('when the embedded FerretDB is killed -9 and cannot come back at once, then /healthz goes 503, the service restarts it with backoff on the same files and port, /healthz comes back to 200, writes succeed, and all of it is logged', async function () {
      this.timeout(180_000);
      const service = await startServiceProcess({ dataDir: tempDir('verdict-db-crash-'), env: { LOG_LEVEL: 'info' } });
      await withOutputOnFailure(
        () => [service],
        async () => {
          const call = async (method: string, url: string, body?: string) => {
            const res = await fetch(`${service.url}${url}`, {
              method,
              headers: { Authorization: `Bearer ${ADMIN_KEY}`, 'Content-Type': 'application/json' },
              ...(body !== undefined ? { body } : {}),
              signal: AbortSignal.timeout(20_000),
            });
            return { status: res.status, body: await res.text() };
          };
          const health = () => call('GET', '/healthz');
          const before = `before-crash-${process.pid}`;
          assert.equal((await call('POST', '/v1/experiments', experimentBody(before))).status, 201);
          assert.equal((await health()).status, 200);

          const listenPort = (pid: number) => Number(/--listen-addr=127\.0\.0\.1:(\d+)/.exec(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' '))![1]);
          const [first, ...others] = ferretDbChildren(service.pid);
          assert.ok(first !== undefined && others.length === 0, 'the service runs one FerretDB');
          const port = listenPort(first);
          // Killed, then its port is taken: the restarts fail (FerretDB cannot listen) until it is free
          // again. On a busy machine the first restart may win the port before the test takes it: then the
          // restarted one is killed in turn.
          const squatter = net.createServer((socket) => socket.destroy());
          let ferretDb = first;
          for (let round = 1; ; round++) {
            process.kill(ferretDb, 'SIGKILL');
            await until(async () => !alive(ferretDb), 5_000, 'FerretDB to die');
            const squatting = await new Promise<boolean>((resolve, reject) =>
              squatter
                .once('error', (error: NodeJS.ErrnoException) => (error.code === 'EADDRINUSE' && round < 5 ? resolve(false) : reject(error)))
                .listen(port, '127.0.0.1', () => resolve(true)),
            );
            if (squatting) break;
            squatter.removeAllListeners('error');
            await until(async () => ferretDbChildren(service.pid).some((pid) => pid !== ferretDb && alive(pid)), 20_000, 'the restarted FerretDB');
            ferretDb = ferretDbChildren(service.pid).find((pid) => pid !== ferretDb && alive(pid))!;
          }
          try {
            await until(async () => (await health()).status === 503, 20_000, '/healthz to answer 503');
            assert.deepEqual(JSON.parse((await health()).body), { status: 'unhealthy', database: false });
          } finally {
            await new Promise<void>((resolve) => squatter.close(() => resolve()));
          }

          await until(async () => (await health()).status === 200, 60_000, '/healthz to answer 200 again');
          const [restarted, ...more] = ferretDbChildren(service.pid);
          assert.ok(restarted !== undefined && restarted !== ferretDb && restarted !== first && more.length === 0, 'one new FerretDB');
          assert.equal(listenPort(restarted), port, 'on the same port');
          const after = `after-crash-${process.pid}`;
          const write = await call('POST', '/v1/experiments', experimentBody(after));
          assert.equal(write.status, 201, write.body);
          assert.equal((await call('GET', `/v1/experiments/${before}`)).status, 200, 'on the same files: what was written before the crash is there');
          assert.equal((await call('GET', `/v1/experiments/${after}`)).status, 200);

          const log = service.output();
          assert.match(log, /the embedded database \(FerretDB\) exited unexpectedly; restarting it/);
          assert.match(log, /"signal":"SIGKILL"/);
          assert.match(log, /restarting the embedded database \(FerretDB\) failed/);
          assert.match(log, /the embedded database \(FerretDB\) was restarted and answers again/);
        },
      );
    });

    it('when the database at MONGODB_URI goes away, then /healthz answers 503 after a few seconds (from the driver\'s state) and 200 once it is back', async function () {
      this.timeout(180_000);
      const database = await startStandaloneDatabase();
      const service = await startServiceProcess({ dataDir: tempDir('verdict-uri-loss-'), mongodbUri: database.uri, dbName: `verdict_loss_${process.pid}` });
      await withOutputOnFailure(
        () => [service, database],
        async () => {
          const health = async () => (await fetch(`${service.url}/healthz`, { signal: AbortSignal.timeout(5_000) })).status;
          assert.equal(await health(), 200);
          await database.kill('SIGKILL');
          await until(async () => (await health()) === 503, 30_000, '/healthz to answer 503');
          await database.restart();
          await until(async () => (await health()) === 200, 60_000, '/healthz to answer 200 again');
        },
      );
      await service.stop();
    });
  });
});
