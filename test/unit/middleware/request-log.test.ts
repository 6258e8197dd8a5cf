import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import express from 'express';
import pino from 'pino';
import supertest from 'supertest';
import { loggablePath, requestLogging } from '../../../src/middleware/request-log';

function appLoggingTo(level: string) {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const app = express();
  app.use(requestLogging(pino({ level }, sink)));
  app.get('/t/c/:token', (_req, res) => {
    res.json({ ok: true });
  });
  return { app, lines };
}

describe('request logging', () => {
  it('when a path carries a signed token or a customer id, then the logged path names neither, nor the query', () => {
    assert.equal(loggablePath('/t/c/abc.def?cid=alice@example.com'), '/t/c/:token');
    assert.equal(loggablePath('/s/tok123'), '/s/:token');
    assert.equal(loggablePath('/u/tok123/confirm'), '/u/:token/confirm');
    assert.equal(loggablePath('/reports/tok'), '/reports/:token');
    assert.equal(loggablePath('/v1/customers/alice/assignments'), '/v1/customers/:customerId/assignments');
    assert.equal(loggablePath('/v1/experiments?status=running'), '/v1/experiments');
  });

  it('when debug is enabled, then each request is logged once with its id, method, loggable path and status', async () => {
    const { app, lines } = appLoggingTo('debug');
    const res = await supertest(app).get('/t/c/secret-token-value?cid=alice');
    const id = res.headers['x-request-id'];
    assert.match(id ?? '', /^[0-9a-f-]{36}$/);
    assert.equal(lines.length, 1);
    assert.deepEqual(lines[0].req, { id, method: 'GET', path: '/t/c/:token' });
    assert.deepEqual(lines[0].res, { statusCode: 200 });
    assert.ok(!JSON.stringify(lines).includes('secret-token-value') && !JSON.stringify(lines).includes('alice'));
  });

  it('when debug is not enabled, then nothing is logged for a request and it still carries an X-Request-Id', async () => {
    const { app, lines } = appLoggingTo('info');
    const res = await supertest(app).get('/t/c/secret-token-value');
    assert.match(res.headers['x-request-id'] ?? '', /^[0-9a-f-]{36}$/);
    assert.equal(lines.length, 0);
  });
});
