import assert from 'node:assert/strict';
import type { JobRunner } from '../../src/jobs/runner';
import { SendWorker } from '../../src/modules/campaigns';
import { api, type Api } from '../helpers/app';
import { eventId, runningExperiment, uniqueKey } from '../helpers/factories';
import { startDuties } from '../helpers/jobs';
import { startSmtpSink, type SinkMessage, type SmtpSink } from '../helpers/smtp-sink';

const BOUNDARY = 'part1_13d.2e68ed54_boundary';

/** An ARF report (RFC 5965, laid out as its Appendix B example) about `original` (headers, then a body). */
function arfReport(original: string, options: { feedbackType?: string; originalPart?: 'message/rfc822' | 'text/rfc822-headers'; withTopHeaders?: boolean } = {}): string {
  const top = [
    'From: <staff@mail.example.net>',
    'Date: Thu, 3 Dec 2026 14:00:00 +0000',
    'Subject: complaint about message from 192.0.2.1',
    'To: <fbl@acme.example>',
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=feedback-report;\r\n     boundary="${BOUNDARY}"`,
    '',
  ];
  const body = [
    `--${BOUNDARY}`,
    'Content-Type: text/plain; charset="US-ASCII"',
    'Content-Transfer-Encoding: 7bit',
    '',
    'This is an email abuse report for an email message received from IP',
    '192.0.2.1 on Thu, 3 Dec 2026 13:50:00 +0000.',
    'For more information about this format please see',
    'http://www.mipassoc.org/arf/.',
    '',
    `--${BOUNDARY}`,
    'Content-Type: message/feedback-report',
    '',
    `Feedback-Type: ${options.feedbackType ?? 'abuse'}`,
    'User-Agent: SomeGenerator/1.0',
    'Version: 1',
    'Original-Mail-From: <cx@acme.example>',
    'Original-Rcpt-To: <redacted@mail.example.net>',
    'Arrival-Date: Thu, 3 Dec 2026 13:50:00 +0000',
    'Reported-Domain: acme.example',
    'Source-IP: 192.0.2.1',
    '',
    `--${BOUNDARY}`,
    `Content-Type: ${options.originalPart ?? 'message/rfc822'}`,
    'Content-Disposition: inline',
    '',
    original,
    `--${BOUNDARY}--`,
    '',
  ];
  return [...(options.withTopHeaders === false ? [] : top), ...body].join('\r\n');
}

/** The message as the sink received it: its raw header lines, then a redacted body. */
function originalOf(message: SinkMessage, drop: string[] = []): string {
  const lines = message.parsed.headerLines.filter((h) => !drop.includes(h.key)).map((h) => h.line);
  return `${lines.join('\r\n')}\r\n\r\n[body redacted by the feedback loop]\r\n`;
}

describe('complaints', function () {
  // Generous: the machine may be shared; nothing here measures speed.
  this.timeout(180_000);
  let client: Api;
  let sink: SmtpSink;
  let runner: JobRunner | undefined;
  let worker: SendWorker | undefined;

  before(async () => {
    client = await api();
    sink = await startSmtpSink();
  });

  afterEach(async () => {
    await runner?.stop();
    worker?.close();
    runner = undefined;
    worker = undefined;
  });

  /** Sends a campaign's test to `size` recipients; returns the experiment and the messages received. */
  async function sentCampaign(size: number) {
    const experiment = await runningExperiment(client, {
      key: uniqueKey('cmp'),
      name: 'Complaint test',
      assetType: 'email',
      variants: [
        { key: 'control', weight: 0.5, content: { subject: 'Hello', html: '<p>Hello {{name}}</p>' } },
        { key: 'loud', weight: 0.5, content: { subject: 'LAST CHANCE', html: '<p>Buy now {{name}}</p>' } },
      ],
      metrics: { primary: 'email_open', guardrails: ['complaint'] },
    });
    const key = uniqueKey('camp');
    await client.post('/v1/campaigns').send({ key, experiment, from: 'Acme <cx@acme.example>', testFraction: 1, winnerPolicy: { after: 'PT1H', onInconclusive: 'hold' } }).expect(201);
    const prefix = uniqueKey('r');
    const recipients = Array.from({ length: size }, (_, i) => ({ customerId: `${prefix}-c${i}`, email: `${prefix}.c${i}@example.org` }));
    await client.post(`/v1/campaigns/${key}/audience`).send(recipients).expect(200);
    worker = new SendWorker({ transportOptions: { smtpUrl: sink.url, maxConnections: 2 }, pollMs: 50 });
    runner = startDuties(worker.duty);
    await client.post(`/v1/campaigns/${key}/send-test`).expect(202);
    await sink.waitFor(() => sink.messages.filter((m) => m.to.startsWith(`${prefix}.`)).length === size, 90_000);
    const messageTo = (i: number) => sink.messages.find((m) => m.to === recipients[i].email)!;
    return { experiment, recipients, messageTo };
  }

  /** Whether an address and a customer would be left out of a new audience as suppressed. */
  async function suppressedCount(experiment: string, rows: { customerId: string; email: string }[]): Promise<number> {
    const key = uniqueKey('camp');
    await client.post('/v1/campaigns').send({ key, experiment, from: 'cx@acme.example', winnerPolicy: { after: 'PT1H', onInconclusive: 'hold' } }).expect(201);
    const upload = await client.post(`/v1/campaigns/${key}/audience`).send(rows);
    if (upload.status === 400 && /empty/.test(upload.body.error.message)) return rows.length;
    assert.equal(upload.status, 200, JSON.stringify(upload.body));
    return upload.body.suppressed as number;
  }

  async function complaintsOf(experiment: string): Promise<number> {
    const summary = (await client.get(`/v1/experiments/${experiment}/summary`)).body;
    return summary.variants.reduce((sum: number, v: { metrics: Record<string, { units: number }> }) => sum + (v.metrics.complaint?.units ?? 0), 0);
  }

  it('when a feedback loop posts an ARF report of a sent message, then the complaint is recorded once for the right customer and experiment and the customer and the address are suppressed', async () => {
    const { experiment, recipients, messageTo } = await sentCampaign(3);
    const report = arfReport(originalOf(messageTo(0)));
    const response = await client.post('/v1/feedback/arf').set('Content-Type', 'message/rfc822').send(report);
    assert.equal(response.status, 202, JSON.stringify(response.body));
    assert.equal(response.body.recorded, true);
    assert.equal(response.body.feedbackType, 'abuse');
    assert.equal(response.body.customerId, recipients[0].customerId);
    assert.equal(response.body.experiment, experiment);
    assert.equal(response.body.foundBy, 'signed_link');
    assert.equal(response.body.duplicate, false);
    const again = await client.post('/v1/feedback/arf').set('Content-Type', 'message/rfc822').send(report);
    assert.equal(again.status, 202);
    assert.equal(again.body.duplicate, true);
    assert.equal(await complaintsOf(experiment), 1);
    // Suppressed by customer and, separately, by address (the message's, since the report redacted it).
    assert.equal(await suppressedCount(experiment, [{ customerId: recipients[0].customerId, email: 'new-address@example.org' }]), 1);
    assert.equal(await suppressedCount(experiment, [{ customerId: uniqueKey('someone'), email: recipients[0].email }]), 1);
    assert.equal(await suppressedCount(experiment, [{ customerId: recipients[1].customerId, email: recipients[1].email }]), 0);
  });

  it('when the report keeps only the original headers without Verdict\'s links, then the message is found by its Message-ID; a multipart/report body with its type in the request header works too', async () => {
    const { experiment, recipients, messageTo } = await sentCampaign(2);
    const original = originalOf(messageTo(1), ['list-unsubscribe', 'list-unsubscribe-post']).replace(/\r\n\r\n[\s\S]*$/, '\r\n');
    const response = await client
      .post('/v1/feedback/arf')
      .set('Content-Type', `multipart/report; report-type=feedback-report; boundary="${BOUNDARY}"`)
      .send(arfReport(original, { originalPart: 'text/rfc822-headers', withTopHeaders: false }));
    assert.equal(response.status, 202, JSON.stringify(response.body));
    assert.equal(response.body.foundBy, 'message_id');
    assert.equal(response.body.customerId, recipients[1].customerId);
    assert.equal(await complaintsOf(experiment), 1);
    assert.equal(await suppressedCount(experiment, [{ customerId: uniqueKey('someone'), email: recipients[1].email }]), 1);
  });

  it('when the report is not a complaint, not a report, about an unknown message or of another type, then nothing is recorded (202 recorded false, 400, 404, 415)', async () => {
    const { experiment, recipients, messageTo } = await sentCampaign(1);
    const notSpam = await client.post('/v1/feedback/arf').set('Content-Type', 'message/rfc822').send(arfReport(originalOf(messageTo(0)), { feedbackType: 'not-spam' }));
    assert.equal(notSpam.status, 202);
    assert.equal(notSpam.body.recorded, false);
    const garbage = await client.post('/v1/feedback/arf').set('Content-Type', 'message/rfc822').send('Subject: hello\r\n\r\njust a message\r\n');
    assert.equal(garbage.status, 400);
    assert.match(garbage.body.error.message, /^body: no message\/feedback-report part/);
    const unknown = await client
      .post('/v1/feedback/arf')
      .set('Content-Type', 'message/rfc822')
      .send(arfReport('Message-ID: <not-ours@elsewhere.example>\r\nSubject: hi\r\n\r\nbody\r\n'));
    assert.equal(unknown.status, 404);
    const json = await client.post('/v1/feedback/arf').send({ feedbackType: 'abuse' });
    assert.equal(json.status, 415);
    assert.equal(await complaintsOf(experiment), 0);
    assert.equal(await suppressedCount(experiment, [{ customerId: recipients[0].customerId, email: recipients[0].email }]), 0);
  });

  it('when a platform posts a "complaint" event, then it counts for the complaint metric and suppresses the customer like an unsubscribe', async () => {
    const { experiment, recipients } = await sentCampaign(2);
    const posted = await client.post('/v1/events').send({ events: [{ eventId: eventId(), customerId: recipients[0].customerId, name: 'complaint', experiment }] });
    assert.equal(posted.status, 202, JSON.stringify(posted.body));
    assert.equal(await complaintsOf(experiment), 1);
    assert.equal(await suppressedCount(experiment, [{ customerId: recipients[0].customerId, email: 'fresh@example.org' }]), 1);
    assert.equal(await suppressedCount(experiment, [{ customerId: recipients[1].customerId, email: recipients[1].email }]), 0);
  });
});
