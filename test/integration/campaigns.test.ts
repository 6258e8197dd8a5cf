import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { campaignsRepository } from '../../src/modules/campaigns/campaigns.repository';
import { campaignScheduleDuty, SendWorker } from '../../src/modules/campaigns';
import type { JobRunner } from '../../src/jobs/runner';
import { startDuties, stoppedAfterEachTest } from '../helpers/jobs';
import { api, type Api } from '../helpers/app';
import { emailExperiment, pageExperiment, runningExperiment, uniqueKey } from '../helpers/factories';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink';

interface Recipient {
  customerId: string;
  email: string;
  name?: string;
  locale?: string;
}

function audience(prefix: string, size: number): Recipient[] {
  return Array.from({ length: size }, (_, i) => ({ customerId: `${prefix}-c${i}`, email: `${prefix}.c${i}@example.org`, name: `Customer ${i}` }));
}

async function createCampaign(client: Api, experiment: string, overrides: Record<string, unknown> = {}) {
  const key = uniqueKey('camp');
  const response = await client.post('/v1/campaigns').send({ key, experiment, from: 'Acme CX <cx@acme.example>', winnerPolicy: { after: 'PT4H', onInconclusive: 'send_control' }, ...overrides });
  assert.equal(response.status, 201, JSON.stringify(response.body));
  return key;
}

async function campaignWithAudience(client: Api, recipients: Recipient[], overrides: Record<string, unknown> = {}) {
  const experiment = await runningExperiment(client, emailExperiment({ metrics: { primary: 'email_open', secondary: ['email_click', 'csat'], guardrails: ['unsubscribe'] } }));
  const key = await createCampaign(client, experiment, overrides);
  const upload = await client.post(`/v1/campaigns/${key}/audience`).send(recipients);
  assert.equal(upload.status, 200, JSON.stringify(upload.body));
  return { key, experiment };
}

async function waitUntil(predicate: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function phaseOf(client: Api, key: string): Promise<string> {
  return (await client.get(`/v1/campaigns/${key}`)).body.phase;
}

describe('campaigns', () => {
  let client: Api;
  let sink: SmtpSink;
  const { workers, runners } = stoppedAfterEachTest();

  function startWorker(options: ConstructorParameters<typeof SendWorker>[0] = {}) {
    const worker = new SendWorker({ transportOptions: { smtpUrl: sink.url, maxConnections: 3 }, pollMs: 50, retryBaseMs: 50, ...options });
    workers.push(worker);
    return worker;
  }

  /** Runs duties on a runner of their own (one instance of the service), stopped after the test. */
  function run(...duties: Parameters<typeof startDuties>): JobRunner {
    const runner = startDuties(...duties);
    runners.push(runner);
    return runner;
  }

  before(async () => {
    client = await api();
    sink = await startSmtpSink();
  });

  describe('creating', () => {
    it('when the body is invalid, then 400 names the field; unknown experiment 404; a page experiment 400; a repeated key 409', async () => {
      const experiment = await runningExperiment(client, emailExperiment());
      const bad = await client.post('/v1/campaigns').send({ key: uniqueKey('camp'), experiment, from: 'cx@acme.example', winnerPolicy: { after: '4 hours', onInconclusive: 'send_control' } });
      assert.equal(bad.status, 400);
      assert.match(bad.body.error.message, /winnerPolicy\.after/);
      const fraction = await client.post('/v1/campaigns').send({ key: uniqueKey('camp'), experiment, from: 'cx@acme.example', testFraction: 0, winnerPolicy: { after: 'PT4H', onInconclusive: 'hold' } });
      assert.equal(fraction.status, 400);
      assert.match(fraction.body.error.message, /testFraction/);
      const from = await client.post('/v1/campaigns').send({ key: uniqueKey('camp'), experiment, from: 'not an address', winnerPolicy: { after: 'PT4H', onInconclusive: 'hold' } });
      assert.match(from.body.error.message, /^from/);
      const unknown = await client.post('/v1/campaigns').send({ key: uniqueKey('camp'), experiment: 'no-such-experiment', from: 'cx@acme.example', winnerPolicy: { after: 'P1D', onInconclusive: 'hold' } });
      assert.equal(unknown.status, 404);
      const page = await runningExperiment(client, pageExperiment());
      const wrongType = await client.post('/v1/campaigns').send({ key: uniqueKey('camp'), experiment: page, from: 'cx@acme.example', winnerPolicy: { after: 'P1D', onInconclusive: 'hold' } });
      assert.equal(wrongType.status, 400);
      assert.match(wrongType.body.error.message, /^experiment/);
      const key = await createCampaign(client, experiment);
      const again = await client.post('/v1/campaigns').send({ key, experiment, from: 'cx@acme.example', winnerPolicy: { after: 'P1D', onInconclusive: 'hold' } });
      assert.equal(again.status, 409);
      const fetched = await client.get(`/v1/campaigns/${key}`);
      assert.equal(fetched.body.phase, 'draft');
      assert.equal(fetched.body.testFraction, 0.2);
      assert.equal(fetched.body.autoSendWinner, false);
      assert.equal((await client.get('/v1/campaigns/no-such-campaign')).status, 404);
    });
  });

  describe('audience', () => {
    it('when a CSV upload has an invalid row, then 400 names its line and nothing is kept', async () => {
      const experiment = await runningExperiment(client, emailExperiment());
      const key = await createCampaign(client, experiment);
      const csv = 'customerId,email,name,plan\nc1,c1@example.org,Ann,gold\nc2,not-an-email,Bob,silver\nc3,c3@example.org,Cy,gold\n';
      const response = await client.post(`/v1/campaigns/${key}/audience`).set('Content-Type', 'text/csv').send(csv);
      assert.equal(response.status, 400, JSON.stringify(response.body));
      assert.deepEqual(response.body.error.details.invalid, [{ row: 2, line: 3, field: 'email', message: 'must be an email address' }]);
      const campaign = await client.get(`/v1/campaigns/${key}`);
      assert.equal(campaign.body.phase, 'draft');
      assert.equal(campaign.body.counts.total.audience, 0);
    });

    it('when a CSV upload has duplicates and extra columns, then duplicates merge (first kept) and columns become attributes', async () => {
      const experiment = await runningExperiment(client, emailExperiment());
      const key = await createCampaign(client, experiment, { testFraction: 1 });
      const csv = 'customerId,email,name,plan\nd1,d1@example.org,First,gold\nd1,other@example.org,Second,silver\nd2,D1@example.org,Third,gold\nd3,d3@example.org,,bronze\n';
      const response = await client.post(`/v1/campaigns/${key}/audience`).set('Content-Type', 'text/csv').send(csv);
      assert.equal(response.status, 200, JSON.stringify(response.body));
      assert.deepEqual(response.body, { accepted: 2, merged: 2, suppressed: 0, testGroup: 2, invalid: [] });
      const exported = await client.post(`/v1/campaigns/${key}/recipients?format=json`);
      assert.equal(exported.status, 200, JSON.stringify(exported.body));
      const byId = new Map(exported.body.recipients.map((r: { customerId: string }) => [r.customerId, r]));
      assert.deepEqual([...byId.keys()].sort(), ['d1', 'd3']);
      assert.equal((byId.get('d1') as { email: string }).email, 'd1@example.org');
    });

    it('when a customer unsubscribed, then a later upload leaves them out and counts them', async () => {
      const { key } = await campaignWithAudience(client, audience(uniqueKey('u'), 3), { testFraction: 1 });
      const exported = await client.post(`/v1/campaigns/${key}/recipients`);
      const first = exported.body.recipients[0];
      const unsubscribe = await client.raw().post(new URL(first.unsubscribeUrl).pathname).type('form').send('List-Unsubscribe=One-Click');
      assert.equal(unsubscribe.status, 200);
      const second = await createCampaign(client, (await client.get(`/v1/campaigns/${key}`)).body.experiment, { testFraction: 1 });
      const upload = await client.post(`/v1/campaigns/${second}/audience`).send([{ customerId: first.customerId, email: first.email }, { customerId: 'someone-new', email: 'new@example.org' }]);
      assert.deepEqual(upload.body, { accepted: 1, merged: 0, suppressed: 1, testGroup: 1, invalid: [] });
    });

    it('when the JSON is not an array of recipients, then 400 and the content type must be JSON or CSV', async () => {
      const experiment = await runningExperiment(client, emailExperiment());
      const key = await createCampaign(client, experiment);
      const notArray = await client.post(`/v1/campaigns/${key}/audience`).set('Content-Type', 'application/json').send('{"customerId":"x"}');
      assert.equal(notArray.status, 400);
      const badRow = await client.post(`/v1/campaigns/${key}/audience`).send([{ customerId: 'ok', email: 'ok@example.org' }, { email: 'x@example.org' }]);
      assert.equal(badRow.status, 400);
      assert.equal(badRow.body.error.details.invalid[0].row, 2);
      assert.equal(badRow.body.error.details.invalid[0].field, 'customerId');
      const text = await client.post(`/v1/campaigns/${key}/audience`).set('Content-Type', 'text/plain').send('hello');
      assert.equal(text.status, 415);
      assert.equal(await phaseOf(client, key), 'draft');
    });
  });

  describe('sending through SMTP', () => {
    it('when the test is sent to 300 recipients, then each test-group member gets their variant once with tracking links and RFC 8058 headers', async () => {
      const prefix = uniqueKey('s');
      const recipients = audience(prefix, 300);
      const { key, experiment } = await campaignWithAudience(client, recipients);
      const worker = startWorker();
      run(worker.duty);
      const sent = await client.post(`/v1/campaigns/${key}/send-test`);
      assert.equal(sent.status, 202, JSON.stringify(sent.body));
      const testGroup = sent.body.counts.total.testGroup;
      assert.ok(testGroup > 30 && testGroup < 90, `test group of ${testGroup} is about 20% of 300`);
      await waitUntil(async () => (await phaseOf(client, key)) === 'waiting_for_winner');
      const mine = sink.messages.filter((m) => m.to.startsWith(`${prefix}.`));
      assert.equal(mine.length, testGroup);
      assert.equal(new Set(mine.map((m) => m.to)).size, testGroup);

      const assignments = await client.get(`/v1/experiments/${experiment}/assignments?limit=1000`);
      const variantOf = new Map(assignments.body.assignments.map((a: { customerId: string; variant: string }) => [a.customerId, a.variant]));
      assert.equal(variantOf.size, testGroup);
      for (const message of mine) {
        const index = Number(/\.c(\d+)@/.exec(message.to)![1]);
        const variant = variantOf.get(`${prefix}-c${index}`);
        const subject = variant === 'control' ? 'Welcome to Acme' : `Hi Customer ${index}, glad you are here`;
        assert.equal(message.parsed.subject, subject);
        assert.match(String(message.parsed.html), variant === 'control' ? /Hello Customer \d+/ : /Hi Customer \d+!/);
        assert.ok(message.parsed.text && message.parsed.text.length > 0);
        const header = (name: string) => message.parsed.headerLines.find((h) => h.key === name)?.line.replace(/\r?\n\s+/g, '').slice(name.length + 1).trim();
        assert.match(String(header('list-unsubscribe')), /^<https:\/\/verdict\.test\/u\/[^>]+>$/);
        assert.equal(header('list-unsubscribe-post'), 'List-Unsubscribe=One-Click');
        const record = await campaignsRepository.findMessage(`${key}:test:${prefix}-c${index}`);
        assert.equal(message.parsed.messageId, record!.messageIdHeader);
      }
      const campaign = await client.get(`/v1/campaigns/${key}`);
      assert.equal(campaign.body.counts.total.sent, testGroup);
      assert.equal(campaign.body.counts.total.queued, 0);
      assert.equal(campaign.body.counts.variants.reduce((sum: number, v: { sent: number }) => sum + v.sent, 0), testGroup);

      // Links from one message: open pixel, click to the exact template URL, survey with comment, one-click unsubscribe.
      const one = mine[0];
      const html = String(one.parsed.html);
      const links = [...html.matchAll(/href="([^"]+)"/g)].map((m) => m[1].replace(/&amp;/g, '&'));
      const open = /<img src="([^"]+)"/.exec(html)![1];
      const pixel = await client.raw().get(new URL(open).pathname);
      assert.equal(pixel.status, 200);
      assert.equal(pixel.headers['content-type'], 'image/gif');
      const click = links.find((l) => l.includes('/t/c/') && !html.includes(`href="${l}" style="display:none`))!;
      const redirected = await client.raw().get(new URL(click).pathname);
      assert.equal(redirected.status, 302);
      assert.ok(['https://acme.example/start', 'https://acme.example/start?v=2'].includes(redirected.headers.location), redirected.headers.location);
      const tampered = await client.raw().get(`${new URL(click).pathname.slice(0, -3)}AAA`);
      assert.equal(tampered.status, 404);
      const survey = new URL(links.find((l) => l.includes('/s/') && l.endsWith('score=5'))!);
      const answered = await client.raw().get(`${survey.pathname}${survey.search}`);
      assert.equal(answered.status, 200);
      // A one-click score seconds after delivery is classified as a scanner's; the page's form is a person's answer.
      const answer = /name="answer" value="([^"]+)"/.exec(answered.text)![1];
      const commented = await client.raw().post(survey.pathname).type('form').send({ score: '5', answer, comment: 'Quick and clear' });
      assert.equal(commented.status, 200);
      const unsubscribe = new URL(links.find((l) => l.includes('/u/'))!);
      const oneClick = await client.raw().post(unsubscribe.pathname).type('form').send('List-Unsubscribe=One-Click');
      assert.equal(oneClick.status, 200);

      await waitUntil(async () => {
        const c = (await client.get(`/v1/campaigns/${key}`)).body.counts.total;
        return c.opened === 1 && c.answered === 1 && c.unsubscribed === 1;
      });

      // Repeating send-test sends nothing new.
      const before = sink.messages.length;
      const repeat = await client.post(`/v1/campaigns/${key}/send-test`);
      assert.equal(repeat.status, 202);
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(sink.messages.length, before);

      // The winner goes to exactly the rest of the audience, minus the one who unsubscribed meanwhile... who was in the test group.
      const winner = await client.post(`/v1/campaigns/${key}/send-winner`).send({ variant: 'friendly' });
      assert.equal(winner.status, 202, JSON.stringify(winner.body));
      assert.equal(winner.body.decision.rule, 'manual');
      await waitUntil(async () => (await phaseOf(client, key)) === 'completed');
      const tested = new Set(mine.map((m) => m.to));
      const rest = sink.messages.filter((m) => m.to.startsWith(`${prefix}.`) && !tested.has(m.to));
      assert.equal(rest.length, 300 - testGroup);
      assert.equal(new Set(rest.map((m) => m.to)).size, 300 - testGroup);
      for (const message of rest) assert.match(String(message.parsed.subject), /^Hi Customer \d+, glad you are here$/);
      for (const r of recipients) assert.equal(sink.countFor(r.email), 1, r.email);
      const again = await client.post(`/v1/campaigns/${key}/send-winner`).send({ variant: 'control' });
      assert.equal(again.status, 409);
    });

    it('when the server answers 421 or 451 the message is retried and delivered once; a 550 is recorded as bounced and not retried', async () => {
      const prefix = uniqueKey('r');
      const recipients = audience(prefix, 6);
      const { key } = await campaignWithAudience(client, recipients, { testFraction: 1 });
      sink.failTemporarily(recipients[0].email, 2);
      sink.failTemporarily(recipients[2].email, 2, 451);
      sink.rejectPermanently(recipients[1].email);
      const worker = startWorker();
      run(worker.duty);
      await client.post(`/v1/campaigns/${key}/send-test`).expect(202);
      await waitUntil(async () => (await phaseOf(client, key)) === 'waiting_for_winner');
      assert.equal(sink.countFor(recipients[0].email), 1);
      assert.equal(sink.countFor(recipients[1].email), 0);
      assert.equal(sink.countFor(recipients[2].email), 1);
      // 421 closes the connection: nodemailer's pool retries on a fresh one, our delivery is still one message.
      assert.equal(sink.refusalsFor(recipients[0].email), 2);
      assert.equal((await campaignsRepository.findDelivery(`${key}:test:${recipients[0].customerId}`))!.status, 'sent');
      // 451 reaches the worker: two backed-off retries from the queue, delivered on the third attempt.
      assert.equal(sink.refusalsFor(recipients[2].email), 2);
      const retried = await campaignsRepository.findDelivery(`${key}:test:${recipients[2].customerId}`);
      assert.equal(retried!.status, 'sent');
      assert.equal(retried!.attempts, 3);
      const bounced = await campaignsRepository.findDelivery(`${key}:test:${recipients[1].customerId}`);
      assert.equal(bounced!.status, 'bounced');
      assert.equal(bounced!.responseCode, 550);
      assert.equal(bounced!.attempts, 1);
      assert.ok(worker.stats.retried >= 2, `retried ${worker.stats.retried}`);
      const campaign = await client.get(`/v1/campaigns/${key}`);
      assert.equal(campaign.body.counts.total.sent, 5);
      assert.equal(campaign.body.counts.total.bounced, 1);
    });

    it('when the worker stops in the middle of a send and a new one starts, then no message is lost or duplicated', async () => {
      const prefix = uniqueKey('x');
      const recipients = audience(prefix, 400);
      const { key } = await campaignWithAudience(client, recipients, { testFraction: 1 });
      const first = startWorker({ transportOptions: { smtpUrl: sink.url, maxConnections: 1 }, concurrency: 1 });
      const firstInstance = run(first.duty);
      await client.post(`/v1/campaigns/${key}/send-test`).expect(202);
      await sink.waitFor(() => sink.messages.filter((m) => m.to.startsWith(`${prefix}.`)).length >= 30);
      await firstInstance.stop();
      const afterStop = sink.messages.filter((m) => m.to.startsWith(`${prefix}.`)).length;
      assert.ok(afterStop < 400, `stopped after ${afterStop} messages`);
      assert.equal(await phaseOf(client, key), 'testing');
      const second = startWorker();
      run(second.duty);
      await waitUntil(async () => (await phaseOf(client, key)) === 'waiting_for_winner');
      for (const r of recipients) assert.equal(sink.countFor(r.email), 1, r.email);
      assert.equal((await client.get(`/v1/campaigns/${key}`)).body.counts.total.sent, 400);
    });

    it('when a crashed worker left a chunk in sending, then a new worker re-queues and finishes it', async () => {
      const prefix = uniqueKey('k');
      const recipients = audience(prefix, 20);
      const { key } = await campaignWithAudience(client, recipients, { testFraction: 1 });
      await client.post(`/v1/campaigns/${key}/send-test`).expect(202);
      // A worker that claims and then dies: its claim stays behind in the queue.
      const claimed = await campaignsRepository.claimNext('dead-host/1/worker', new Date());
      assert.equal(claimed!.campaign, key);
      assert.equal(claimed!.status, 'sending');
      const worker = startWorker();
      run(worker.duty);
      await waitUntil(async () => (await phaseOf(client, key)) === 'waiting_for_winner');
      for (const r of recipients) assert.equal(sink.countFor(r.email), 1, r.email);
    });

    it('when the experiment is not running, then send-test answers 409 and sends nothing', async () => {
      const created = await client.post('/v1/experiments').send(emailExperiment());
      const key = await createCampaign(client, created.body.key);
      await client.post(`/v1/campaigns/${key}/audience`).send(audience(uniqueKey('n'), 5)).expect(200);
      const response = await client.post(`/v1/campaigns/${key}/send-test`);
      assert.equal(response.status, 409);
      assert.match(response.body.error.message, /is draft: start it/);
      assert.equal(await phaseOf(client, key), 'audience_ready');
      assert.equal((await client.post(`/v1/campaigns/${key}/send-winner`).send({})).status, 409);
    });
  });

  describe('automatic winner', () => {
    it('when autoSendWinner is on and the wait has passed, then the scheduler decides, records it and sends the winner', async () => {
      const prefix = uniqueKey('a');
      const recipients = audience(prefix, 40);
      const { key } = await campaignWithAudience(client, recipients, { autoSendWinner: true, testFraction: 0.5, winnerPolicy: { after: 'PT1S', onInconclusive: 'send_control' } });
      const worker = startWorker();
      run(worker.duty);
      run(campaignScheduleDuty(100));
      await client.post(`/v1/campaigns/${key}/send-test`).expect(202);
      await waitUntil(async () => (await phaseOf(client, key)) === 'completed');
      const campaign = (await client.get(`/v1/campaigns/${key}`)).body;
      assert.equal(campaign.decision.by, 'auto');
      assert.equal(campaign.winner.variant, campaign.decision.variant);
      assert.ok(['ship', 'send_control'].includes(campaign.decision.rule));
      assert.ok(campaign.decision.reasons.length > 0);
      for (const r of recipients) assert.equal(sink.countFor(r.email), 1, r.email);
      assert.equal(campaign.counts.total.sent, 40);
    });

    it('when the policy is hold and the test is inconclusive, then send-winner answers 409 with reasons and the campaign is held', async () => {
      const { key } = await campaignWithAudience(client, audience(uniqueKey('h'), 10), { testFraction: 1, winnerPolicy: { after: 'PT1H', onInconclusive: 'hold' } });
      const worker = startWorker();
      run(worker.duty);
      await client.post(`/v1/campaigns/${key}/send-test`).expect(202);
      await waitUntil(async () => (await phaseOf(client, key)) === 'waiting_for_winner');
      const held = await client.post(`/v1/campaigns/${key}/send-winner`).send({});
      assert.equal(held.status, 409);
      assert.ok(held.body.error.details.decision.reasons.length > 0);
      assert.equal(await phaseOf(client, key), 'held');
      const manual = await client.post(`/v1/campaigns/${key}/send-winner`).send({ variant: 'control' });
      assert.equal(manual.status, 202, JSON.stringify(manual.body));
      assert.equal(manual.body.decision.rule, 'manual');
    });
  });

  describe('development outbox', () => {
    it('when SMTP_URL is unset, then messages are written as .eml files and listed by the outbox endpoint', async () => {
      const prefix = uniqueKey('o');
      const { key } = await campaignWithAudience(client, audience(prefix, 12), { testFraction: 1 });
      const worker = new SendWorker({ pollMs: 50 });
      workers.push(worker);
      run(worker.duty);
      await client.post(`/v1/campaigns/${key}/send-test`).expect(202);
      await waitUntil(async () => (await phaseOf(client, key)) === 'waiting_for_winner');
      const page = await client.get(`/v1/campaigns/${key}/outbox?limit=5&offset=0`);
      assert.equal(page.status, 200);
      assert.equal(page.body.total, 12);
      assert.equal(page.body.messages.length, 5);
      const item = page.body.messages[0];
      assert.match(item.to, new RegExp(`^${prefix}\\.c\\d+@example\\.org$`));
      assert.ok(['control', 'friendly'].includes(item.variant));
      const file = path.join(process.env.DATA_DIR!, 'outbox', key, item.file);
      const eml = fs.readFileSync(file, 'utf8');
      assert.match(eml, /^List-Unsubscribe-Post: List-Unsubscribe=One-Click$/m);
      assert.ok(eml.includes(`Subject: ${item.subject}`) || eml.includes('Subject: =?UTF-8?'));
      assert.equal(fs.readdirSync(path.join(process.env.DATA_DIR!, 'outbox', key)).filter((f) => f.endsWith('.eml')).length, 12);
      const rest = await client.get(`/v1/campaigns/${key}/outbox?limit=50&offset=5`);
      assert.equal(rest.body.messages.length, 7);
    });
  });

  describe('recipients export', () => {
    it('when the test group is exported as CSV, then each row has its variant, subject and signed links, and the group is assigned', async () => {
      const prefix = uniqueKey('e');
      const { key, experiment } = await campaignWithAudience(client, audience(prefix, 10), { testFraction: 1 });
      const csv = await client.post(`/v1/campaigns/${key}/recipients`).set('Accept', 'text/csv');
      assert.equal(csv.status, 200);
      assert.match(csv.headers['content-type'], /^text\/csv/);
      const lines = csv.text.trim().split('\n');
      assert.equal(lines[0], 'customerId,email,group,variant,subject,messageId,openPixelUrl,clickLinks,surveyLinks,unsubscribeUrl');
      assert.ok(csv.text.includes('https://verdict.test/t/o/'));
      assert.ok(csv.text.includes('https://verdict.test/u/'));
      const assigned = await client.get(`/v1/experiments/${experiment}/assignments`);
      assert.equal(assigned.body.assignments.length, 10);
      const json = await client.post(`/v1/campaigns/${key}/recipients?format=json`);
      assert.equal(json.body.count, 10);
      const row = json.body.recipients[0];
      const pixel = await client.raw().get(new URL(row.openPixelUrl).pathname);
      assert.equal(pixel.status, 200);
      assert.equal(row.survey.length, 5);
      assert.equal((await client.post('/v1/campaigns/nope-nope/recipients')).status, 404);
      assert.equal((await client.post(`/v1/campaigns/${key}/recipients?format=csv`)).text, csv.text, '?format=csv gives the same file, and exporting again the same rows');
    });

    it('when a viewer reads the recipients, then only what an export created is listed, nothing is assigned, and it says when nothing was exported', async () => {
      const viewer = await api((await client.post('/v1/api-keys').send({ name: 'recipients viewer', role: 'viewer' })).body.key);
      const prefix = uniqueKey('r');
      const { key, experiment } = await campaignWithAudience(client, audience(prefix, 8), { testFraction: 1 });

      const none = await viewer.get(`/v1/campaigns/${key}/recipients`);
      assert.equal(none.status, 200, JSON.stringify(none.body));
      assert.equal(none.headers['x-verdict-exported'], '0');
      assert.match(none.headers['x-verdict-note'], /nothing has been exported yet/);
      assert.deepEqual({ ...none.body, note: undefined }, { recipients: [], count: 0, exported: 0, note: undefined });
      assert.match(none.body.note, /POST \/v1\/campaigns\/.+\/recipients/);
      const noneCsv = await viewer.get(`/v1/campaigns/${key}/recipients.csv`);
      assert.equal(noneCsv.status, 200);
      assert.equal(noneCsv.text, 'customerId,email,group,variant,subject,messageId,openPixelUrl,clickLinks,surveyLinks,unsubscribeUrl\n');
      assert.equal(noneCsv.headers['x-verdict-exported'], '0');
      assert.equal((await client.get(`/v1/experiments/${experiment}/assignments`)).body.assignments.length, 0, 'reading assigned nobody');

      assert.equal((await viewer.post(`/v1/campaigns/${key}/recipients`)).status, 403, 'exporting is for editors');
      const exported = await client.post(`/v1/campaigns/${key}/recipients`);
      assert.equal(exported.status, 200);
      assert.equal(exported.body.count, 8);

      const read = await viewer.get(`/v1/campaigns/${key}/recipients`);
      assert.equal(read.headers['x-verdict-exported'], '8');
      assert.equal(read.headers['x-verdict-note'], undefined);
      assert.deepEqual(read.body.recipients, exported.body.recipients, 'the same rows as the export');
      assert.equal(read.body.exported, 8);
      const readCsv = await viewer.get(`/v1/campaigns/${key}/recipients.csv`);
      assert.equal(readCsv.text, (await client.post(`/v1/campaigns/${key}/recipients?format=csv`)).text);
      assert.equal((await viewer.get('/v1/campaigns/nope-nope/recipients.csv')).status, 404);
    });
  });
});
