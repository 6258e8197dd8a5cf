// Issue 10, "Hardening": an audience upload rejected part way through its body (a bad header, a body
// that is not an array, a malformed line) must not leave the rest of the body on the connection, or the
// next request on the same keep-alive connection is never answered. (A body never read at all, as for the
// wrong content type or an unknown campaign, Node discards by itself.)
import assert from 'node:assert/strict';
import http from 'node:http';
import { api, ADMIN_KEY, type Api } from '../helpers/app';
import { emailExperiment, runningExperiment, uniqueKey } from '../helpers/factories';
import { serveTestApp } from '../helpers/service-process';

interface Answer {
  status: number;
  body: string;
  localPort: number | undefined;
}

/** One request through the agent; rejects when no complete answer came within timeoutMs. */
function send(agent: http.Agent, url: string, options: { method: string; path: string; headers?: Record<string, string>; body?: Buffer }, timeoutMs = 15_000): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`no answer to ${options.method} ${options.path} within ${timeoutMs} ms`));
    }, timeoutMs);
    const req = http.request(`${url}${options.path}`, { agent, method: options.method, headers: { Authorization: `Bearer ${ADMIN_KEY}`, ...options.headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString('utf8'), localPort: req.socket?.localPort });
      });
    });
    req.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.end(options.body);
  });
}

/** About 16 MB of CSV rows: more than the socket buffers of both ends hold, so unread bytes block the connection. */
function bigCsvRows(prefix: string): string {
  const row = (i: number) => `${prefix}-c${i},${prefix}.c${i}@example.org,${'x'.repeat(60)}\n`;
  return Array.from({ length: 160_000 }, (_, i) => row(i)).join('');
}

describe('audience upload on a keep-alive connection', function () {
  this.timeout(120_000);
  let client: Api;
  let url: string;
  let campaign: string;
  let agent: http.Agent;

  before(async () => {
    client = await api();
    url = await serveTestApp();
    const experiment = await runningExperiment(client, emailExperiment());
    campaign = uniqueKey('camp');
    const created = await client.post('/v1/campaigns').send({ key: campaign, experiment, from: 'Acme CX <cx@acme.example>', winnerPolicy: { after: 'PT4H', onInconclusive: 'send_control' } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
  });

  beforeEach(() => {
    agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  });

  afterEach(() => {
    agent.destroy();
  });

  const rejectedEarly: { name: string; request: () => { path: string; headers: Record<string, string>; body: Buffer } }[] = [
    {
      name: 'a CSV header names a column MongoDB cannot store ("plan.tier")',
      request: () => ({ path: `/v1/campaigns/${campaign}/audience`, headers: { 'Content-Type': 'text/csv' }, body: Buffer.from(`customerId,email,plan.tier\n${bigCsvRows(uniqueKey('h'))}`) }),
    },
    {
      name: 'a CSV body is malformed on its second line',
      request: () => ({ path: `/v1/campaigns/${campaign}/audience`, headers: { 'Content-Type': 'text/csv' }, body: Buffer.from(`customerId,email,note\nonly-one-cell\n${bigCsvRows(uniqueKey('m'))}`) }),
    },
    {
      name: 'a JSON body is not an array',
      request: () => ({ path: `/v1/campaigns/${campaign}/audience`, headers: { 'Content-Type': 'application/json' }, body: Buffer.from(`{"customerId":"x","padding":"${'x'.repeat(16_000_000)}"}`) }),
    },
  ];

  for (const rejection of rejectedEarly) {
    it(`when an upload of 16 MB is rejected early because ${rejection.name}, then the next request on the same connection is answered`, async () => {
      const { path, headers, body } = rejection.request();
      const first = await send(agent, url, { method: 'POST', path, headers, body });
      assert.equal(first.status, 400, first.body);
      assert.equal(JSON.parse(first.body).error.code, 'bad_request', first.body);

      // Answered within less than the test server's keep-alive timeout (Node's default 5 s; server.ts sets
      // 65 s), after which it drops a stalled connection and the agent quietly opens another.
      const second = await send(agent, url, { method: 'GET', path: `/v1/campaigns/${campaign}` }, 4_000);
      assert.equal(second.status, 200, second.body);
      assert.equal(JSON.parse(second.body).key, campaign);
      assert.equal(second.localPort, first.localPort, 'the second request went over the first one\'s connection');
      assert.equal(JSON.parse(second.body).counts.total.audience, 0, 'nothing of the rejected upload is the audience');
    });
  }
});
