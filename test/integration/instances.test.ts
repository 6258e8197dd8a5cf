// Issue 10: several service instances on one database. Every background duty runs on the one job runner
// with leases in the database, so a second instance starting, stopping or dying in the middle of a
// campaign send never sends a message twice; only the messages a kill -9 caught sent but not yet recorded
// (at most one a lane) go out again, with the same Message-ID.
import assert from 'node:assert/strict';
import { call } from '../helpers/ingest';
import { emailExperiment, uniqueKey } from '../helpers/factories';
import { startServiceProcess, startStandaloneDatabase, stoppedAfterEach, tempDir, withOutputOnFailure, type ServiceProcess } from '../helpers/service-process';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink';
import { LANES_PER_CONNECTION } from '../../src/modules/campaigns';

async function until(predicate: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function ok(url: string, method: string, route: string, body?: unknown): Promise<Record<string, unknown>> {
  const answer = await call(url, method, route, body);
  assert.ok(answer.status >= 200 && answer.status < 300, `${method} ${route}: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body as Record<string, unknown>;
}

/** A running experiment and a campaign whose whole audience is its test group. */
async function campaignOf(url: string, recipients: { customerId: string; email: string }[]): Promise<string> {
  const experiment = (await ok(url, 'POST', '/v1/experiments', emailExperiment())).key as string;
  await ok(url, 'POST', `/v1/experiments/${experiment}/start`);
  const key = uniqueKey('camp');
  await ok(url, 'POST', '/v1/campaigns', { key, experiment, from: 'Acme CX <cx@acme.example>', testFraction: 1, winnerPolicy: { after: 'PT4H', onInconclusive: 'send_control' } });
  await ok(url, 'POST', `/v1/campaigns/${key}/audience`, recipients);
  return key;
}

describe('instances: background duties on one database', function () {
  this.timeout(300_000);
  const keep = stoppedAfterEach();
  let sink: SmtpSink;

  before(async () => {
    sink = await startSmtpSink();
  });

  it('when a second instance starts and stops in the middle of a send and then the sending one is killed, then every message is sent once, except those a kill cut mid-exchange, which are re-sent with the same Message-ID', async () => {
    const database = await startStandaloneDatabase();
    const dbName = 'verdict_send_two';
    const env = { SMTP_URL: sink.url, SMTP_MAX_CONNECTIONS: '2' };
    const services: (ServiceProcess | undefined)[] = [];
    const start = async () => {
      const service = await startServiceProcess({ dataDir: tempDir('verdict-send-'), dbName, mongodbUri: database.uri, env });
      services.push(service);
      keep(service);
      return service;
    };
    await withOutputOnFailure(
      () => [...services, database],
      async () => {
        const a = await start();
        const prefix = uniqueKey('inst');
        const recipients = Array.from({ length: 1500 }, (_, i) => ({ customerId: `${prefix}-c${i}`, email: `${prefix}.c${i}@example.org` }));
        const key = await campaignOf(a.url, recipients);
        const mine = () => sink.messages.filter((m) => m.to.startsWith(`${prefix}.`));

        const sentTwice = () => {
          const seen = new Set<string>();
          return mine().filter((m) => seen.size === seen.add(m.to).size).map((m) => m.to);
        };
        await ok(a.url, 'POST', `/v1/campaigns/${key}/send-test`);
        await until(() => mine().length >= 100, 60_000, 'the first messages');
        // Twice, a second instance starts mid-send (start-up used to put back every chunk the first one
        // was sending, which both then sent) and stops again mid-send.
        for (const [from, to] of [
          [100, 300],
          [300, 500],
        ] as const) {
          await until(() => mine().length >= from, 60_000, 'more messages');
          const b = await start();
          await until(() => mine().length >= to, 60_000, 'more messages');
          await b.stop();
        }
        await until(() => mine().length >= 650, 60_000, 'more messages');
        assert.deepEqual(sentTwice(), [], 'no message sent twice while instances started and stopped');
        // The sender dies; a new instance takes the sending lease over once it has expired.
        await a.kill('SIGKILL');
        const atKill = mine().length;
        assert.ok(atKill < recipients.length, `the send was still going when the sender was killed (${atKill})`);
        const c = await start();
        await until(async () => (await ok(c.url, 'GET', `/v1/campaigns/${key}`)).phase === 'waiting_for_winner', 120_000, 'the test group to be sent');

        const byAddress = new Map<string, string[]>();
        for (const m of mine()) byAddress.set(m.to, [...(byAddress.get(m.to) ?? []), m.parsed.messageId ?? '']);
        const twice = [...byAddress.entries()].filter(([, ids]) => ids.length > 1);
        for (const r of recipients) assert.ok(byAddress.has(r.email.toLowerCase()), `${r.email} was never sent`);
        // At most the messages in flight when the sender died: one a lane (2 connections, LANES_PER_CONNECTION lanes each).
        assert.ok(twice.length <= 2 * LANES_PER_CONNECTION, `sent more than once: ${twice.map(([to, ids]) => `${to} ×${ids.length}`).join(', ')}`);
        for (const [to, ids] of twice) {
          assert.equal(ids.length, 2, `${to} sent ${ids.length} times`);
          assert.equal(ids[0], ids[1], `${to} was re-sent with another Message-ID`);
        }
        const counts = (await ok(c.url, 'GET', `/v1/campaigns/${key}`)).counts as { total: { sent: number } };
        assert.equal(counts.total.sent, recipients.length);
      },
    );
  });

  it('when an experiment is paused, rolled out and a key revoked on one instance, then each is in force on the other within 1 s, and both assign the same variants', async () => {
    const database = await startStandaloneDatabase();
    const dbName = 'verdict_agree_two';
    const services: (ServiceProcess | undefined)[] = [];
    await withOutputOnFailure(
      () => [...services, database],
      async () => {
        const a = await startServiceProcess({ dataDir: tempDir('verdict-agree-a-'), dbName, mongodbUri: database.uri });
        services.push(a);
        keep(a);
        const b = await startServiceProcess({ dataDir: tempDir('verdict-agree-b-'), dbName, mongodbUri: database.uri });
        services.push(b);
        keep(b);
        const experiment = (await ok(a.url, 'POST', '/v1/experiments', emailExperiment())).key as string;
        await ok(a.url, 'POST', `/v1/experiments/${experiment}/start`);
        // B learns of the start through the counter too (it may have cached the experiment as a draft).
        const assign = (url: string, customerId: string) => ok(url, 'POST', '/v1/assignments', { experiment, customerId });
        await until(async () => (await assign(b.url, uniqueKey('probe'))).reason === 'hash', 1_000, 'B to see the start');

        // The same customers get the same variant from either instance.
        for (let i = 0; i < 40; i++) {
          const fromA = await assign(a.url, `same-${i}`);
          const fromB = await assign(b.url, `same-${i}`);
          assert.equal(fromB.variant, fromA.variant, `customer same-${i}`);
        }

        /** Milliseconds from the change's answer until `seen` holds on B (fails beyond 1 s). */
        const inForceOnB = async (what: string, change: () => Promise<unknown>, seen: () => Promise<boolean>) => {
          assert.equal(await seen(), false, `${what}: already in force before the change`);
          await change();
          const answered = Date.now();
          await until(seen, 1_000, `${what} to be in force on the other instance`);
          return Date.now() - answered;
        };

        await inForceOnB(
          'the pause',
          () => ok(a.url, 'POST', `/v1/experiments/${experiment}/pause`),
          async () => (await assign(b.url, uniqueKey('new'))).reason === 'not_running',
        );
        await ok(a.url, 'POST', `/v1/experiments/${experiment}/resume`);
        await until(async () => (await assign(b.url, uniqueKey('new'))).reason === 'hash', 1_000, 'the resume on B');
        await inForceOnB(
          'the rollout',
          () => ok(a.url, 'POST', `/v1/experiments/${experiment}/rollout`, { variant: 'control', force: true }),
          async () => (await assign(b.url, uniqueKey('new'))).reason === 'rollout',
        );

        const key = await ok(a.url, 'POST', '/v1/api-keys', { name: 'ingest on B', role: 'ingest' });
        const withKey = async () => {
          const res = await fetch(`${b.url}/v1/assignments`, {
            method: 'POST',
            headers: { Authorization: `Bearer ${key.key as string}`, 'Content-Type': 'application/json' },
            body: JSON.stringify({ experiment, customerId: uniqueKey('k') }),
          });
          await res.arrayBuffer();
          return res.status;
        };
        assert.equal(await withKey(), 200);
        // B has the key's check cached now; the revocation on A must reach it through the counter.
        await inForceOnB(
          'the revocation',
          () => ok(a.url, 'DELETE', `/v1/api-keys/${key.id as string}`),
          async () => (await withKey()) === 401,
        );
      },
    );
  });
});
