import assert from 'node:assert/strict';
import type { JobRunner } from '../../src/jobs/runner';
import { SendWorker } from '../../src/modules/campaigns';
import { campaignsRepository } from '../../src/modules/campaigns/campaigns.repository';
import { api, type Api } from '../helpers/app';
import { eventId, runningExperiment, uniqueKey } from '../helpers/factories';
import { startDuties, stoppedAfterEachTest } from '../helpers/jobs';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink';

interface Recipient {
  customerId: string;
  email: string;
  name: string;
}

function audience(prefix: string, size: number): Recipient[] {
  return Array.from({ length: size }, (_, i) => ({ customerId: `${prefix}-c${i}`, email: `${prefix}.c${i}@example.org`, name: `Customer ${i}` }));
}

function experimentBody(variants: { key: string; weight: number; content: Record<string, unknown> }[], overrides: Record<string, unknown> = {}) {
  return {
    key: uniqueKey('hold'),
    name: 'Renewal reminder',
    assetType: 'email',
    variants,
    metrics: { primary: 'conversion', guardrails: ['unsubscribe'] },
    ...overrides,
  };
}

const content = (subject: string, extra: Record<string, unknown> = {}) => ({ subject, html: `<p>${subject} {{name}}</p>`, ...extra });

async function waitUntil(predicate: () => Promise<boolean>, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('campaigns: holdout, from-name and send time', function () {
  // Generous: the machine may be shared; nothing here measures speed.
  this.timeout(180_000);
  let client: Api;
  let sink: SmtpSink;
  const { workers, runners } = stoppedAfterEachTest();

  function startSender(): JobRunner {
    const worker = new SendWorker({ transportOptions: { smtpUrl: sink.url, maxConnections: 3 }, pollMs: 50, retryBaseMs: 50 });
    workers.push(worker);
    const runner = startDuties(worker.duty);
    runners.push(runner);
    return runner;
  }

  async function campaign(experiment: string, recipients: Recipient[], overrides: Record<string, unknown> = {}) {
    const key = uniqueKey('camp');
    const created = await client.post('/v1/campaigns').send({ key, experiment, from: 'Acme CX <cx@acme.example>', winnerPolicy: { after: 'PT4H', onInconclusive: 'send_control' }, ...overrides });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const upload = await client.post(`/v1/campaigns/${key}/audience`).send(recipients);
    assert.equal(upload.status, 200, JSON.stringify(upload.body));
    return { key, upload: upload.body as { accepted: number; testGroup: number; holdout?: number } };
  }

  const phaseOf = async (key: string) => (await client.get(`/v1/campaigns/${key}`)).body.phase as string;
  const mine = (prefix: string) => sink.messages.filter((m) => m.to.startsWith(`${prefix}.`));

  before(async () => {
    client = await api();
    sink = await startSmtpSink();
  });

  describe('holdout', () => {
    it('when a campaign over 300 recipients holds out 0.1, then about 10% are assigned to the no-send arm, receive nothing in the test or the winner send, and their conversions are compared with each sent variant', async () => {
      const experiment = await runningExperiment(client, experimentBody([
        { key: 'control', weight: 0.5, content: content('Renew today') },
        { key: 'friendly', weight: 0.5, content: content('Shall we keep you going?') },
      ]));
      const prefix = uniqueKey('h');
      const recipients = audience(prefix, 300);
      const { key, upload } = await campaign(experiment, recipients, { holdoutFraction: 0.1, testFraction: 0.5 });
      assert.ok(upload.holdout! >= 12 && upload.holdout! <= 50, `holdout of ${upload.holdout} is about 10% of 300`);
      startSender();
      const sent = await client.post(`/v1/campaigns/${key}/send-test`);
      assert.equal(sent.status, 202, JSON.stringify(sent.body));
      await waitUntil(async () => (await phaseOf(key)) === 'waiting_for_winner');

      const held = (await client.get(`/v1/experiments/${experiment}/assignments?variant=holdout&limit=1000`)).body.assignments as { customerId: string; reason: string }[];
      assert.equal(held.length, upload.holdout);
      assert.ok(held.every((a) => a.reason === 'holdout'));
      const heldIds = new Set(held.map((a) => a.customerId));
      const heldEmails = recipients.filter((r) => heldIds.has(r.customerId)).map((r) => r.email);
      for (const email of heldEmails) assert.equal(sink.countFor(email), 0, `${email} is held out`);
      assert.equal(mine(prefix).length, upload.testGroup);
      const view = (await client.get(`/v1/campaigns/${key}`)).body;
      assert.equal(view.holdoutFraction, 0.1);
      assert.equal(view.test.heldOut, upload.holdout);
      assert.equal(view.counts.holdout.recipients, upload.holdout);

      // The holdout's conversions count: half of them convert, and a quarter of the sent customers.
      const assigned = (await client.get(`/v1/experiments/${experiment}/assignments?limit=1000`)).body.assignments as { customerId: string; variant: string }[];
      const sentCustomers = assigned.filter((a) => a.variant !== 'holdout');
      const converting = [...held.filter((_, i) => i % 2 === 0), ...sentCustomers.filter((_, i) => i % 4 === 0)];
      await client.post('/v1/events').send({ events: converting.map((a) => ({ eventId: eventId(), customerId: a.customerId, name: 'conversion', experiment })) }).expect(202);

      const results = (await client.get(`/v1/experiments/${experiment}/results`)).body;
      assert.equal(results.holdout.variant, 'holdout');
      assert.equal(results.holdout.assigned, upload.holdout);
      const conversion = results.holdout.metrics.find((m: { metric: string }) => m.metric === 'conversion');
      const holdoutArm = conversion.variants.find((v: { variant: string }) => v.variant === 'holdout');
      assert.equal(holdoutArm.units, upload.holdout);
      assert.equal(holdoutArm.value, Math.ceil(held.length / 2) / held.length);
      assert.deepEqual(conversion.comparisons.map((c: { variant: string; baseline: string }) => [c.variant, c.baseline]), [['control', 'holdout'], ['friendly', 'holdout']]);
      assert.ok(results.holdout.metrics.some((m: { metric: string; role: string }) => m.metric === 'unsubscribe' && m.role === 'guardrail'));
      assert.ok(['sending_helps', 'sending_hurts', 'inconclusive'].includes(results.holdout.verdict));
      assert.ok(results.holdout.reasons.length > 0);
      // The HTML report answers the same question, in its own section.
      const share = await client.post(`/v1/experiments/${experiment}/share`).send({});
      const link = new URL(share.body.url as string);
      const page = await client.get(`${link.pathname}${link.search}`);
      assert.equal(page.status, 200);
      assert.ok(page.text.includes('Does sending help at all?'));
      assert.ok(page.text.includes(`${upload.holdout} customers were held out`));
      // Counted by now (the results waited for it): the campaign shows the holdout's customers too.
      assert.equal((await client.get(`/v1/campaigns/${key}`)).body.counts.holdout.assigned, upload.holdout);
      // The comparison between variants leaves the holdout out: estimates, sample ratio check, decision.
      assert.deepEqual(Object.keys(results.health.unitsByVariant).sort(), ['control', 'friendly']);
      for (const metric of results.metrics) assert.ok(metric.variants.every((v: { variant: string }) => v.variant !== 'holdout'));
      const units = Object.values(results.health.unitsByVariant as Record<string, number>).reduce((a, b) => a + b, 0);
      assert.equal(units, upload.testGroup);

      // The winner goes to everyone else, and still not to the holdout.
      const winner = await client.post(`/v1/campaigns/${key}/send-winner`).send({ variant: 'friendly' });
      assert.equal(winner.status, 202, JSON.stringify(winner.body));
      await waitUntil(async () => (await phaseOf(key)) === 'completed');
      assert.equal(mine(prefix).length, upload.accepted - upload.holdout!);
      for (const email of heldEmails) assert.equal(sink.countFor(email), 0, `${email} is held out of the winner send`);
    });

    it('when the holdout fraction is 1 or more, or a variant is keyed "holdout", then 400 names the field and nothing is stored', async () => {
      const experiment = await runningExperiment(client, experimentBody([
        { key: 'control', weight: 0.5, content: content('A') },
        { key: 'other', weight: 0.5, content: content('B') },
      ]));
      const key = uniqueKey('camp');
      const bad = await client.post('/v1/campaigns').send({ key, experiment, from: 'cx@acme.example', holdoutFraction: 1, winnerPolicy: { after: 'PT1H', onInconclusive: 'hold' } });
      assert.equal(bad.status, 400);
      assert.match(bad.body.error.message, /^holdoutFraction/);
      assert.equal((await client.get(`/v1/campaigns/${key}`)).status, 404);
      const reserved = await client.post('/v1/experiments').send(experimentBody([
        { key: 'control', weight: 0.5, content: content('A') },
        { key: 'holdout', weight: 0.5, content: content('B') },
      ]));
      assert.equal(reserved.status, 400);
      assert.match(reserved.body.error.message, /^variants\.1\.key: "holdout" is reserved/);
    });
  });

  describe('from-name and send time', () => {
    it('when variants have their own from-names and one is delayed, then each message carries its variant\'s display name on the campaign address, the delayed one goes out only after its time, and the winner keeps both rules', async () => {
      const experiment = await runningExperiment(client, experimentBody([
        { key: 'control', weight: 0.5, content: content('Renew today', { fromName: 'Acme Care' }) },
        { key: 'later', weight: 0.5, content: content('Still with us?', { fromName: 'Ana from Acme', sendDelay: 'PT2S' }) },
      ]));
      const prefix = uniqueKey('f');
      const recipients = audience(prefix, 40);
      const { key, upload } = await campaign(experiment, recipients, { testFraction: 0.5 });
      startSender();
      const sent = await client.post(`/v1/campaigns/${key}/send-test`);
      assert.equal(sent.status, 202, JSON.stringify(sent.body));
      const requestedAt = new Date(sent.body.test.requestedAt).getTime();
      // The wait before deciding starts when the last variant goes out.
      assert.equal(new Date(sent.body.test.winnerDueAt).getTime(), requestedAt + 2000 + 4 * 3600_000);
      await waitUntil(async () => (await phaseOf(key)) === 'waiting_for_winner');
      const messages = mine(prefix);
      assert.equal(messages.length, upload.testGroup);
      const assigned = new Map(((await client.get(`/v1/experiments/${experiment}/assignments?limit=1000`)).body.assignments as { customerId: string; variant: string }[]).map((a) => [a.customerId, a.variant]));
      const variants = new Set<string>();
      for (const message of messages) {
        const customerId = `${prefix}-c${/\.c(\d+)@/.exec(message.to)![1]}`;
        const variant = assigned.get(customerId)!;
        variants.add(variant);
        const from = message.parsed.from!.value[0];
        assert.equal(from.address, 'cx@acme.example');
        assert.equal(from.name, variant === 'control' ? 'Acme Care' : 'Ana from Acme');
        const delivery = await campaignsRepository.findDelivery(`${key}:test:${customerId}`);
        const record = await campaignsRepository.findMessage(`${key}:test:${customerId}`);
        if (variant === 'later') {
          assert.equal(record!.notBefore!.getTime(), requestedAt + 2000);
          assert.ok(delivery!.at.getTime() >= record!.notBefore!.getTime(), 'not sent before its time');
        } else {
          assert.equal(record!.notBefore, undefined);
        }
      }
      assert.deepEqual([...variants].sort(), ['control', 'later']);

      const winner = await client.post(`/v1/campaigns/${key}/send-winner`).send({ variant: 'later' });
      assert.equal(winner.status, 202, JSON.stringify(winner.body));
      const winnerStart = new Date(winner.body.winner.requestedAt).getTime();
      await waitUntil(async () => (await phaseOf(key)) === 'completed');
      const rest = mine(prefix).slice(upload.testGroup);
      assert.equal(rest.length, upload.accepted - upload.testGroup);
      for (const message of rest) {
        assert.equal(message.parsed.from!.value[0].name, 'Ana from Acme');
        const customerId = `${prefix}-c${/\.c(\d+)@/.exec(message.to)![1]}`;
        const delivery = await campaignsRepository.findDelivery(`${key}:winner:${customerId}`);
        assert.ok(delivery!.at.getTime() >= winnerStart + 2000, 'the winner send keeps its delay');
      }
    });

    it('when a variant is due at a later sendAt and the sender restarts, then it is not sent before its time and the others are sent once', async () => {
      const experiment = await runningExperiment(client, experimentBody([
        { key: 'control', weight: 0.5, content: content('Now') },
        { key: 'tomorrow', weight: 0.5, content: content('Tomorrow', { sendAt: new Date(Date.now() + 3600_000).toISOString() }) },
      ]));
      const prefix = uniqueKey('t');
      const recipients = audience(prefix, 30);
      const { key, upload } = await campaign(experiment, recipients, { testFraction: 1 });
      const first = startSender();
      await client.post(`/v1/campaigns/${key}/send-test`).expect(202);
      const assigned = ((await client.get(`/v1/experiments/${experiment}/assignments?limit=1000`)).body.assignments as { customerId: string; variant: string }[]);
      const now = assigned.filter((a) => a.variant === 'control');
      const due = assigned.filter((a) => a.variant === 'tomorrow');
      assert.ok(now.length > 0 && due.length > 0);
      assert.equal(now.length + due.length, upload.testGroup);
      await sink.waitFor(() => mine(prefix).length >= now.length, 90_000);
      // Restart the sender: the delayed variant's entry is still due later.
      await first.stop();
      runners.splice(runners.indexOf(first), 1);
      startSender();
      // The new sender is at work once another campaign's messages arrive; the delayed ones still wait.
      const other = await runningExperiment(client, experimentBody([
        { key: 'control', weight: 0.5, content: content('Other') },
        { key: 'second', weight: 0.5, content: content('Other 2') },
      ]));
      const otherPrefix = uniqueKey('t2');
      const second = await campaign(other, audience(otherPrefix, 4), { testFraction: 1 });
      await client.post(`/v1/campaigns/${second.key}/send-test`).expect(202);
      await sink.waitFor(() => mine(otherPrefix).length === 4, 90_000);
      for (const a of due) assert.equal(await campaignsRepository.findDelivery(`${key}:test:${a.customerId}`), null);
      const emailOf = (id: string) => recipients.find((r) => r.customerId === id)!.email;
      for (const a of now) assert.equal(sink.countFor(emailOf(a.customerId)), 1);
      for (const a of due) assert.equal(sink.countFor(emailOf(a.customerId)), 0);
      assert.equal(await phaseOf(key), 'testing');
    });

    it('when fromName could inject a header, or sendAt and sendDelay are both given, then 400 names the field and nothing is stored', async () => {
      const injected = experimentBody([
        { key: 'control', weight: 0.5, content: content('A', { fromName: 'Acme\r\nBcc: victim@example.org' }) },
        { key: 'other', weight: 0.5, content: content('B') },
      ]);
      const bad = await client.post('/v1/experiments').send(injected);
      assert.equal(bad.status, 400);
      assert.match(bad.body.error.message, /^variants\.0\.content\.fromName/);
      assert.equal((await client.get(`/v1/experiments/${injected.key}`)).status, 404);
      const both = await client.post('/v1/experiments').send(experimentBody([
        { key: 'control', weight: 0.5, content: content('A', { sendAt: '2026-12-24T09:00:00Z', sendDelay: 'PT1H' }) },
        { key: 'other', weight: 0.5, content: content('B') },
      ]));
      assert.equal(both.status, 400);
      assert.match(both.body.error.message, /^variants\.0\.content\.sendDelay: sendAt and sendDelay exclude each other/);
      const badDelay = await client.post('/v1/experiments').send(experimentBody([
        { key: 'control', weight: 0.5, content: content('A', { sendDelay: 'two hours' }) },
        { key: 'other', weight: 0.5, content: content('B') },
      ]));
      assert.equal(badDelay.status, 400);
      assert.match(badDelay.body.error.message, /^variants\.0\.content\.sendDelay/);
    });
  });
});
