import assert from 'node:assert/strict';
import { SendWorker } from '../../src/modules/campaigns';
import type { JobRunner } from '../../src/jobs/runner';
import { surveyInvitations } from '../../src/modules/surveys';
import { startDuties } from '../helpers/jobs';
import { api, type Api } from '../helpers/app';
import { emailExperiment, runningExperiment, uniqueKey } from '../helpers/factories';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink';

async function waitUntil(predicate: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('survey frequency cap', () => {
  let client: Api;
  let sink: SmtpSink;
  let worker: SendWorker;
  let runner: JobRunner;

  before(async () => {
    client = await api();
    sink = await startSmtpSink();
    worker = new SendWorker({ transportOptions: { smtpUrl: sink.url, maxConnections: 2 }, pollMs: 50 });
    runner = startDuties(worker.duty);
  });

  after(async () => {
    await runner.stop();
    worker.close();
  });

  /** A campaign of the experiment sent to its whole audience as the test group; the messages each address got. */
  async function sendCampaign(experiment: string, recipients: { customerId: string; email: string }[]) {
    const key = uniqueKey('camp');
    const created = await client.post('/v1/campaigns').send({ key, experiment, from: 'Acme CX <cx@acme.example>', testFraction: 1, winnerPolicy: { after: 'PT4H', onInconclusive: 'send_control' } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    await client.post(`/v1/campaigns/${key}/audience`).send(recipients).expect(200);
    const sent = await client.post(`/v1/campaigns/${key}/send-test`);
    assert.equal(sent.status, 202, JSON.stringify(sent.body));
    await waitUntil(async () => (await client.get(`/v1/campaigns/${key}`)).body.counts.total.sent === recipients.length);
    return new Map(recipients.map((r) => [r.email, sink.messages.filter((m) => m.to === r.email).at(-1)!]));
  }

  it('when a second campaign of the same experiment reaches customers within the period, then it goes without the survey; newcomers still get it', async () => {
    const experiment = await runningExperiment(client, emailExperiment({ metrics: { primary: 'email_open', secondary: ['csat'], guardrails: [] } }));
    const prefix = uniqueKey('f');
    const first = Array.from({ length: 4 }, (_, i) => ({ customerId: `${prefix}-c${i}`, email: `${prefix}.c${i}@example.org` }));
    const sentFirst = await sendCampaign(experiment, first);
    for (const message of sentFirst.values()) assert.match(String(message.parsed.html), /data-verdict="survey"/);

    const newcomer = { customerId: `${prefix}-new`, email: `${prefix}.new@example.org` };
    const sentSecond = await sendCampaign(experiment, [...first, newcomer]);
    for (const r of first) {
      const message = sentSecond.get(r.email)!;
      assert.doesNotMatch(String(message.parsed.html), /data-verdict="survey"/);
      assert.doesNotMatch(String(message.parsed.text), /\/s\//);
      // The rest of the message is there: its unsubscribe link.
      assert.match(String(message.parsed.html), /\/u\//);
    }
    assert.match(String(sentSecond.get(newcomer.email)!.parsed.html), /data-verdict="survey"/);
  });

  it('when another experiment surveys the same customers, then its own survey is sent (the cap is per experiment and metric)', async () => {
    const prefix = uniqueKey('g');
    const people = Array.from({ length: 2 }, (_, i) => ({ customerId: `${prefix}-c${i}`, email: `${prefix}.c${i}@example.org` }));
    const one = await runningExperiment(client, emailExperiment({ metrics: { primary: 'email_open', secondary: ['nps'], guardrails: [] } }));
    const two = await runningExperiment(client, emailExperiment({ metrics: { primary: 'email_open', secondary: ['nps'], guardrails: [] } }));
    for (const message of (await sendCampaign(one, people)).values()) assert.match(String(message.parsed.html), /data-verdict="survey"/);
    for (const message of (await sendCampaign(two, people)).values()) assert.match(String(message.parsed.html), /data-verdict="survey"/);
  });

  it('when the period has passed, or the same message is sent again, then the invitation may be claimed again', async () => {
    const experiment = uniqueKey('exp');
    const customerId = uniqueKey('cust');
    const now = new Date();
    assert.deepEqual([...(await surveyInvitations.claim(experiment, 'csat', [{ messageId: 'm1', customerId }], now))], ['m1']);
    // A retry of the same message, and another message the same day.
    assert.deepEqual([...(await surveyInvitations.claim(experiment, 'csat', [{ messageId: 'm1', customerId }], now))], ['m1']);
    assert.deepEqual([...(await surveyInvitations.claim(experiment, 'csat', [{ messageId: 'm2', customerId }], new Date(now.getTime() + 29 * 86_400_000)))], []);
    // 30 days later (the default SURVEY_FREQUENCY_PERIOD).
    assert.deepEqual([...(await surveyInvitations.claim(experiment, 'csat', [{ messageId: 'm3', customerId }], new Date(now.getTime() + 30 * 86_400_000)))], ['m3']);
  });
});
