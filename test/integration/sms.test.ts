import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { SendWorker } from '../../src/modules/campaigns';
import { campaignsRepository } from '../../src/modules/campaigns/campaigns.repository';
import { startDuties, stoppedAfterEachTest } from '../helpers/jobs';
import { api, type Api } from '../helpers/app';
import { runningExperiment, smsExperiment, uniqueKey } from '../helpers/factories';
import { startSmsc, type Smsc } from '../helpers/smsc';
import { testSettings } from '../helpers/wiring';

const BROWSER = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1';

interface SmsRecipient {
  customerId: string;
  phone: string;
  name?: string;
  locale?: string;
}

/** Distinct E.164 numbers per test: +98 912 then a per-test block and the index. */
let block = 100 + (process.pid % 800);
function audience(prefix: string, size: number, locale?: string): SmsRecipient[] {
  const base = block++;
  return Array.from({ length: size }, (_, i) => ({ customerId: `${prefix}-c${i}`, phone: `+98912${String(base).padStart(3, '0')}${String(i).padStart(4, '0')}`, name: `Reza ${i}`, ...(locale ? { locale } : {}) }));
}

async function waitUntil(predicate: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function smsCampaign(client: Api, experiment: string, recipients: SmsRecipient[], overrides: Record<string, unknown> = {}) {
  const key = uniqueKey('smsc');
  const created = await client.post('/v1/campaigns').send({ key, experiment, from: 'AcmeCare', winnerPolicy: { after: 'PT4H', onInconclusive: 'send_control' }, ...overrides });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.equal(created.body.channel, 'sms');
  const upload = await client.post(`/v1/campaigns/${key}/audience`).send(recipients);
  assert.equal(upload.status, 200, JSON.stringify(upload.body));
  return { key, upload: upload.body as { accepted: number; testGroup: number; suppressed: number } };
}

describe('SMS campaigns', () => {
  let client: Api;
  let smsc: Smsc;
  const { workers, runners } = stoppedAfterEachTest();

  /** A sender on a runner of its own (one instance of the service), against the loopback SMSC. */
  function startSender(transport: Record<string, unknown> = {}) {
    const worker = new SendWorker({ pollMs: 50, retryBaseMs: 50, smsTransportOptions: { smppUrl: smsc.url, ratePerSecond: 0, throttleBaseMs: 5, reconnectMs: 50, ...transport } });
    workers.push(worker);
    runners.push(startDuties(worker.duty));
    return worker;
  }

  before(async () => {
    client = await api();
    smsc = await startSmsc();
  });

  describe('experiments', () => {
    it('when an SMS experiment is created, then each variant shows its encoding and segments, Persian text counted as UCS-2', async () => {
      const body = smsExperiment();
      const created = await client.post('/v1/experiments').send(body);
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const [english, persian] = created.body.variants;
      // The braces of {{name}} and {{link}} are GSM-7 extension characters: 2 septets each.
      assert.deepEqual(english.sms, { encoding: 'GSM-7', units: body.variants[0].content.text.length + 8, segments: 1 });
      assert.equal(persian.sms.encoding, 'UCS-2');
      assert.equal(persian.sms.segments, 1);
      // 71 Persian letters: two segments of 67 at most, where 71 Latin letters would fit one.
      const patched = await client.patch(`/v1/experiments/${body.key}`).send({ variants: [body.variants[0], { ...body.variants[1], content: { text: 'ی'.repeat(71) } }] });
      assert.equal(patched.status, 200, JSON.stringify(patched.body));
      assert.deepEqual(patched.body.variants[1].sms, { encoding: 'UCS-2', units: 71, segments: 2 });
    });

    it('when an SMS variant is not {text} or its template does not compile, then 400 names the field and nothing is stored', async () => {
      const body = smsExperiment();
      const wrongShape = await client.post('/v1/experiments').send({ ...body, variants: [body.variants[0], { key: 'b', weight: 0.5, content: { subject: 'x', html: '<p>x</p>' } }] });
      assert.equal(wrongShape.status, 400);
      assert.match(wrongShape.body.error.message, /variants\.1\.content/);
      assert.match(wrongShape.body.error.message, /\{text\}/);
      const broken = await client.post('/v1/experiments').send({ ...body, variants: [body.variants[0], { key: 'b', weight: 0.5, content: { text: 'Hi {{#if name}} unclosed' } }] });
      assert.equal(broken.status, 400);
      assert.match(broken.body.error.message, /variants\.1\.content\.text/);
      assert.equal((await client.get(`/v1/experiments/${body.key}`)).status, 404);
    });
  });

  describe('creating and audiences', () => {
    it('when the sender id is not up to 11 letters and digits or E.164, or a mailbox is given, then 400 names from', async () => {
      const experiment = await runningExperiment(client, smsExperiment());
      for (const from of ['Acme Care Ltd', 'AcmeCareCustomer', 'care@acme.example', '+0123']) {
        const response = await client.post('/v1/campaigns').send({ key: uniqueKey('smsc'), experiment, from, winnerPolicy: { after: 'PT4H', onInconclusive: 'hold' } });
        assert.equal(response.status, 400, from);
        assert.match(response.body.error.message, /^from/, from);
      }
      const numeric = await client.post('/v1/campaigns').send({ key: uniqueKey('smsc'), experiment, from: '+4915112345678', winnerPolicy: { after: 'PT4H', onInconclusive: 'hold' } });
      assert.equal(numeric.status, 201, JSON.stringify(numeric.body));
    });

    it('when an audience row has a phone that is not E.164 (or an email instead), then 400 names the row and nothing is stored', async () => {
      const experiment = await runningExperiment(client, smsExperiment());
      const { key } = await smsCampaign(client, experiment, audience(uniqueKey('ok'), 1));
      const rows = [...audience(uniqueKey('bad'), 3)];
      rows[1] = { ...rows[1], phone: '0912 345 6789' };
      const json = await client.post(`/v1/campaigns/${key}/audience`).send(rows);
      assert.equal(json.status, 400, JSON.stringify(json.body));
      assert.deepEqual(json.body.error.details.invalid.map((i: { row: number; field: string }) => [i.row, i.field]), [[2, 'phone']]);
      assert.match(json.body.error.message, /row 2, phone/);
      const csv = await client.post(`/v1/campaigns/${key}/audience`).set('Content-Type', 'text/csv').send('customerId,phone,name\nx1,+989121110000,Ali\nx2,989121110001,Sara\n');
      assert.equal(csv.status, 400);
      assert.deepEqual(csv.body.error.details.invalid[0], { row: 2, line: 3, field: 'phone', message: 'must be a phone number in E.164 form, such as +989121234567' });
      const emailRow = await client.post(`/v1/campaigns/${key}/audience`).send([{ customerId: 'e1', email: 'e1@example.org' }]);
      assert.equal(emailRow.status, 400);
      // The earlier audience (one recipient) is still the campaign's.
      assert.equal((await client.get(`/v1/campaigns/${key}`)).body.counts.total.audience, 1);
    });
  });

  describe('sending over SMPP', () => {
    it('when an SMS campaign runs, then the test group is sent with receipts recorded, a STOP suppresses the next message, and the winner goes to the rest', async () => {
      const experiment = await runningExperiment(client, smsExperiment());
      // 30 English readers: with about 15 in the test group, some surely get the English variant (by hash),
      // which the GSM-7 check below needs (with 10, about one run in 30 had none).
      const recipients = [...audience(uniqueKey('en'), 30), ...audience(uniqueKey('fa'), 10, 'fa')];
      const { key, upload } = await smsCampaign(client, experiment, recipients, { testFraction: 0.5 });
      assert.ok(upload.testGroup > 2 && upload.testGroup < recipients.length - 2, `test group ${upload.testGroup}`);
      const tested = await campaignsRepository.recipientsCursor((await campaignsRepository.findByKey(key))!.audience!.upload, { test: true }).toArray();
      const [undelivered, expired] = tested.map((r) => r.phone!);
      smsc.receiptFor(undelivered, 'UNDELIV');
      smsc.receiptFor(expired, 'EXPIRED');

      startSender();
      const test = await client.post(`/v1/campaigns/${key}/send-test`);
      assert.ok([200, 202].includes(test.status), JSON.stringify(test.body));
      await smsc.waitFor(() => tested.every((r) => smsc.messagesTo(r.phone!).length === 1));
      const total = async () => (await client.get(`/v1/campaigns/${key}`)).body.counts.total;
      await waitUntil(async () => {
        const t = await total();
        return t.delivered + t.expired + t.failed === tested.length;
      });
      const counts = await total();
      assert.equal(counts.sent, tested.length);
      assert.equal(counts.delivered, tested.length - 2);
      assert.equal(counts.expired, 1);
      assert.equal(counts.failed, 1);

      // What reached the SMSC: registered delivery, the sender id, a short signed link and the opt-out line.
      const english = smsc.messages.find((m) => tested.some((r) => r.phone === m.to && !r.locale))!;
      const persianMessages = smsc.messages.filter((m) => tested.some((r) => r.phone === m.to && r.locale === 'fa'));
      assert.equal(english.registeredDelivery, 1);
      assert.equal(english.from, 'AcmeCare');
      const link = /(https?:\/\/\S+\/m\/[A-Za-z0-9_-]{23})/.exec(english.text)?.[1];
      assert.ok(link, english.text);
      assert.ok(link.length < testSettings().tracking.publicBaseUrl.length + 30, link);
      const fa = persianMessages.find((m) => m.text.includes('عزیز')) ?? persianMessages[0];
      assert.match(fa.text, /لغو/);
      const lastLine = english.text.split('\n').at(-1)!;
      assert.ok(lastLine === 'Reply STOP to opt out' || lastLine.includes('لغو'), english.text);
      // A Persian variant goes out as UCS-2 (data_coding 8) and arrives intact.
      const ucs2 = smsc.messages.filter((m) => m.text.includes('عزیز'));
      assert.ok(ucs2.length > 0);
      for (const m of ucs2) assert.equal(m.dataCoding, 8);
      // An English text to an English reader is GSM-7; to a Persian reader its opt-out line is Persian, so UCS-2.
      const english7 = smsc.messages.filter((m) => m.text.startsWith('Hi ') && tested.some((r) => r.phone === m.to && !r.locale));
      assert.ok(english7.length > 0 && english7.every((m) => m.dataCoding === 0));

      // The short link: a person's visit counts a click and offers the survey; a messaging app's preview does not count.
      const page = await client.raw().get(new URL(link).pathname).set('User-Agent', BROWSER);
      assert.equal(page.status, 200);
      assert.match(page.text, /data-verdict="survey"/);
      const scoreLink = /href="([^"]+\?score=5)"/.exec(page.text)![1].replace(/&amp;/g, '&');
      const answer = await client.raw().get(new URL(scoreLink).pathname + new URL(scoreLink).search).set('User-Agent', BROWSER);
      assert.equal(answer.status, 200);
      assert.match(new URL(scoreLink).pathname, /^\/s\//);
      const other = /(https?:\/\/\S+\/m\/[A-Za-z0-9_-]{23})/.exec(smsc.messages.find((m) => m !== english && tested.some((r) => r.phone === m.to))!.text)![1];
      assert.equal((await client.raw().get(new URL(other).pathname).set('User-Agent', 'WhatsApp/2.23.20.0 A')).status, 200);
      // (The answer itself goes through the one-click survey's scanner checks, src/modules/tracking; here only the click counts.)
      await waitUntil(async () => (await total()).clicked === 1);
      assert.equal((await client.raw().get('/m/AAAAAAAAAAAAAAAAAAAAAAA')).status, 404);

      // A STOP from a test-group member, after the SMSC dropped the session (the sender reconnects).
      const stopper = tested.find((r) => !r.locale && r.phone !== undelivered && r.phone !== expired)!;
      smsc.dropConnections();
      await smsc.sendInbound(stopper.phone!, 'stop');
      await waitUntil(async () => (await total()).unsubscribed === 1);
      // The next message to that number (another campaign, another customer id, the same phone) is suppressed.
      const next = await smsCampaign(client, experiment, [{ customerId: `${stopper.customerId}-again`, phone: stopper.phone! }, ...audience(uniqueKey('next'), 2)], { testFraction: 1 });
      assert.equal(next.upload.suppressed, 1);
      assert.equal(next.upload.accepted, 2);

      // The winner (inconclusive: the control) goes to everyone who got no test message, once.
      const winner = await client.post(`/v1/campaigns/${key}/send-winner`);
      assert.ok([200, 202].includes(winner.status), JSON.stringify(winner.body));
      assert.equal(winner.body.decision.variant, 'control');
      const rest = recipients.filter((r) => !tested.some((t) => t.customerId === r.customerId));
      await smsc.waitFor(() => rest.every((r) => smsc.messagesTo(r.phone).length === 1));
      await waitUntil(async () => (await client.get(`/v1/campaigns/${key}`)).body.phase === 'completed');
      for (const r of rest) assert.match(smsc.messagesTo(r.phone)[0].text, /^Hi Reza/);
      for (const r of tested) assert.equal(smsc.messagesTo(r.phone!).length, 1);
      const view = await client.get(`/v1/campaigns/${key}`);
      const control = view.body.counts.variants.find((v: { variant: string }) => v.variant === 'control');
      assert.equal(control.sms.encoding, 'GSM-7');
      assert.equal(view.body.counts.variants.find((v: { variant: string }) => v.variant === 'persian').sms.encoding, 'UCS-2');
    });

    it('when the SMSC throttles, then the submit is retried after a wait and sent once', async () => {
      const experiment = await runningExperiment(client, smsExperiment());
      const recipients = audience(uniqueKey('thr'), 2);
      const { key } = await smsCampaign(client, experiment, recipients, { testFraction: 1 });
      smsc.throttle(recipients[0].phone, 1);
      // Beyond what the transport retries itself (1 more try): handed back to the send queue, retried later.
      smsc.throttle(recipients[1].phone, 3, 0x14 /* ESME_RMSGQFUL */);
      startSender({ throttleRetries: 1 });
      assert.ok([200, 202].includes((await client.post(`/v1/campaigns/${key}/send-test`)).status));
      await smsc.waitFor(() => recipients.every((r) => smsc.messagesTo(r.phone).length === 1));
      assert.equal(smsc.submitsFor(recipients[0].phone), 2);
      assert.equal(smsc.submitsFor(recipients[1].phone), 4);
      await waitUntil(async () => (await client.get(`/v1/campaigns/${key}`)).body.counts.total.sent === 2);
      const first = await campaignsRepository.findDelivery(`${key}:test:${recipients[0].customerId}`);
      assert.equal(first?.status, 'sent');
      assert.equal(first?.attempts, 1);
      const second = await campaignsRepository.findDelivery(`${key}:test:${recipients[1].customerId}`);
      assert.equal(second?.status, 'sent');
      assert.equal(second?.attempts, 2);
    });
  });

  describe('without SMPP_URL', () => {
    it('when a second SMS campaign of the experiment reaches the same customers within the survey period, then its links count the click but offer no survey', async () => {
      const experiment = await runningExperiment(client, smsExperiment());
      const recipients = audience(uniqueKey('cap'), 2);
      const outboxDir = testSettings().sms.outboxDir!;
      const worker = new SendWorker({ pollMs: 50, smsTransportOptions: { outboxDir } });
      workers.push(worker);
      runners.push(startDuties(worker.duty));
      const pages: string[] = [];
      for (let round = 0; round < 2; round++) {
        const { key } = await smsCampaign(client, experiment, recipients, { testFraction: 1 });
        assert.ok([200, 202].includes((await client.post(`/v1/campaigns/${key}/send-test`)).status));
        await waitUntil(async () => (await client.get(`/v1/campaigns/${key}/outbox`)).body.total === 2);
        const outbox = await client.get(`/v1/campaigns/${key}/outbox`);
        const file = JSON.parse(fs.readFileSync(path.join(outboxDir, key, outbox.body.messages[0].file), 'utf8')) as { text: string };
        const link = /\/m\/[A-Za-z0-9_-]{23}/.exec(file.text)![0];
        const page = await client.get(link).set('User-Agent', 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)');
        assert.equal(page.status, 200);
        pages.push(page.text);
      }
      assert.ok(pages[0].includes('data-verdict="survey"'), 'the first message offers the survey');
      assert.ok(!pages[1].includes('data-verdict="survey"'), 'the second, within the period, does not');
    });

    it('when no SMSC is configured, then messages go to the outbox, listed by phone', async () => {
      const experiment = await runningExperiment(client, smsExperiment());
      const recipients = audience(uniqueKey('out'), 2);
      const { key } = await smsCampaign(client, experiment, recipients, { testFraction: 1 });
      const outboxDir = testSettings().sms.outboxDir!;
      const worker = new SendWorker({ pollMs: 50, smsTransportOptions: { outboxDir } });
      workers.push(worker);
      runners.push(startDuties(worker.duty));
      assert.ok([200, 202].includes((await client.post(`/v1/campaigns/${key}/send-test`)).status));
      await waitUntil(async () => (await client.get(`/v1/campaigns/${key}/outbox`)).body.total === 2);
      const outbox = await client.get(`/v1/campaigns/${key}/outbox`);
      assert.deepEqual(outbox.body.messages.map((m: { to: string }) => m.to).sort(), recipients.map((r) => r.phone).sort());
      const file = JSON.parse(fs.readFileSync(path.join(outboxDir, key, outbox.body.messages[0].file), 'utf8'));
      assert.equal(file.from, 'AcmeCare');
      assert.match(file.text, /\/m\/[A-Za-z0-9_-]{23}/);
      assert.ok(['GSM-7', 'UCS-2'].includes(file.encoding));
      assert.equal((await client.post(`/v1/campaigns/${key}/recipients`)).status, 409);
    });
  });
});
