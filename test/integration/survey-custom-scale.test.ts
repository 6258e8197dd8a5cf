// Survey metrics on their own scale (a library 1-10 CSAT, an experiment's custom 1-5 effort score) are asked
// and answered like the built-ins: the email survey block and the SMS survey page offer one signed link per
// point of the scale, a person's score becomes an answer the results count, a score outside the scale is
// refused, and the answers listing filters by the metric's key.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { SendWorker } from '../../src/modules/campaigns';
import { trackingService } from '../../src/modules/tracking';
import { CLICK_AFTER_DELIVERY_MS } from '../../src/modules/tracking/traffic.classifier';
import { startDuties, stoppedAfterEachTest } from '../helpers/jobs';
import { api, type Api } from '../helpers/app';
import { emailExperiment, runningExperiment, smsExperiment, uniqueKey } from '../helpers/factories';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink';
import { testSettings } from '../helpers/wiring';

const CHROME = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36';
const IPHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1';

async function waitUntil(predicate: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A person answers some seconds after delivery: a score right after it is classified as a scanner's. */
const afterDelivery = () => new Promise((resolve) => setTimeout(resolve, CLICK_AFTER_DELIVERY_MS + 300));

/** The path and query of a score link (the service answers on its public base URL). */
const local = (url: string) => {
  const parsed = new URL(url.replace(/&amp;/g, '&'));
  return `${parsed.pathname}${parsed.search}`;
};

/** The distinct survey links of a page or message, by score. */
function scoreLinks(html: string): Map<number, string> {
  const links = new Map<number, string>();
  for (const match of html.matchAll(/href="([^"]+\/s\/[^"?]+\?score=(-?\d+))"/g)) links.set(Number(match[2]), match[1].replace(/&amp;/g, '&'));
  return links;
}

describe('survey metrics on their own scale', () => {
  let client: Api;
  let sink: SmtpSink;
  const { workers, runners } = stoppedAfterEachTest();

  before(async () => {
    client = await api();
    sink = await startSmtpSink();
  });

  async function campaign(experiment: string, recipients: Record<string, unknown>[], from: string) {
    const key = uniqueKey('camp');
    const created = await client.post('/v1/campaigns').send({ key, experiment, from, testFraction: 1, winnerPolicy: { after: 'PT4H', onInconclusive: 'send_control' } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    await client.post(`/v1/campaigns/${key}/audience`).send(recipients).expect(200);
    const sent = await client.post(`/v1/campaigns/${key}/send-test`);
    assert.ok([200, 202].includes(sent.status), JSON.stringify(sent.body));
    return key;
  }

  async function variantOf(experiment: string, customerId: string): Promise<string> {
    const assignments = await client.get(`/v1/experiments/${experiment}/assignments?limit=1000`);
    return assignments.body.assignments.find((a: { customerId: string }) => a.customerId === customerId).variant;
  }

  async function responders(experiment: string, metric: string, variant: string): Promise<{ responders?: number; value: number | null }> {
    const results = await client.get(`/v1/experiments/${experiment}/results`);
    assert.equal(results.status, 200, JSON.stringify(results.body));
    const found = results.body.metrics.find((m: { metric: string }) => m.metric === metric);
    assert.ok(found, `the results report ${metric}`);
    return found.variants.find((v: { variant: string }) => v.variant === variant);
  }

  it('when an email experiment asks a library 1-10 survey metric first, then each message carries 10 score links, a person\'s score counts in its results and listing, and scores outside 1-10 are refused', async () => {
    const metric = `csat10_${uniqueKey('m').slice(2)}`;
    const defined = await client.post('/v1/metrics').send({ key: metric, name: 'CSAT 1-10', kind: 'survey', direction: 'increase', scale: { min: 1, max: 10 }, topBox: [9, 10] });
    assert.equal(defined.status, 201, JSON.stringify(defined.body));
    const experiment = await runningExperiment(client, emailExperiment({ metrics: { primary: metric, secondary: ['email_open'], guardrails: ['unsubscribe'] } }));
    const worker = new SendWorker({ transportOptions: { smtpUrl: sink.url, maxConnections: 2 }, pollMs: 50 });
    workers.push(worker);
    runners.push(startDuties(worker.duty));
    const prefix = uniqueKey('c10');
    const people = [
      { customerId: `${prefix}-en`, email: `${prefix}.en@example.org`, name: 'Ada' },
      { customerId: `${prefix}-fa`, email: `${prefix}.fa@example.org`, name: 'Reza', locale: 'fa' },
    ];
    const key = await campaign(experiment, people, 'Acme CX <cx@acme.example>');
    await waitUntil(async () => (await client.get(`/v1/campaigns/${key}`)).body.counts.total.sent === people.length);
    const english = sink.messages.find((m) => m.to === people[0].email)!;
    const persian = sink.messages.find((m) => m.to === people[1].email)!;
    const links = scoreLinks(String(english.parsed.html));
    assert.deepEqual([...links.keys()], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.equal(new Set(links.values()).size, 10);
    assert.match(String(english.parsed.html), /Please choose a score: CSAT 1-10/);
    assert.match(String(english.parsed.text), /Please choose a score: CSAT 1-10/);
    assert.equal((String(english.parsed.text).match(/\/s\/[^\s?]+\?score=\d+/g) ?? []).length, 10);
    assert.equal(scoreLinks(String(persian.parsed.html)).size, 10);
    assert.match(String(persian.parsed.html), /لطفاً امتیاز دهید: CSAT 1-10/);

    // Outside the scale, or a tampered token: refused, and nothing is recorded.
    const token = local(links.get(1)!).split('?')[0];
    for (const score of ['0', '11', '-1', 'x']) {
      const refused = await client.raw().get(`${token}?score=${score}`).set('User-Agent', CHROME);
      assert.equal(refused.status, 400, score);
      assert.match(refused.text, /from 1 to 10/);
    }
    assert.equal((await client.raw().get(`${token}x?score=5`).set('User-Agent', CHROME)).status, 404);
    assert.equal((await client.raw().post(token).type('form').send({ score: '11', comment: 'too high' })).status, 400);

    await afterDelivery();
    const page = await client.raw().get(local(links.get(9)!)).set('User-Agent', CHROME);
    assert.equal(page.status, 200);
    assert.match(page.text, /Please choose a score: CSAT 1-10/);
    assert.match(page.text, /Your answer has been recorded: 9\./);
    await trackingService.processClicks(Date.now() + 60_000);

    const variant = await variantOf(experiment, people[0].customerId);
    const counted = await responders(experiment, metric, variant);
    assert.equal(counted.responders, 1);
    assert.equal(counted.value, 9);
    await waitUntil(async () => (await client.get(`/v1/campaigns/${key}`)).body.counts.total.answered === 1);

    const listed = await client.get(`/v1/experiments/${experiment}/responses?metric=${metric}`);
    assert.equal(listed.status, 200, JSON.stringify(listed.body));
    assert.deepEqual(listed.body.responses.map((r: { customerId: string; metric: string; score: number }) => [r.customerId, r.metric, r.score]), [[people[0].customerId, metric, 9]]);
    assert.deepEqual((await client.get(`/v1/experiments/${experiment}/responses?metric=csat`)).body.responses, []);
    assert.equal((await client.get(`/v1/experiments/${experiment}/responses?metric=${metric}&minScore=10`)).body.responses.length, 0);
    const unknown = await client.get(`/v1/experiments/${experiment}/responses?metric=email_open`);
    assert.equal(unknown.status, 400);
    assert.match(JSON.stringify(unknown.body.error), /metric/);
    assert.equal((await client.get(`/v1/experiments/${experiment}/responses/themes?metric=no_such_survey`)).status, 400);

    // The thank-you page's form: the comment goes on the same answer.
    const answer = /name="answer" value="([^"]+)"/.exec(page.text)![1];
    const commented = await client.raw().post(token).type('form').send({ score: '9', answer, comment: 'Clear and quick' });
    assert.equal(commented.status, 200);
    const csv = await client.get(`/v1/experiments/${experiment}/responses.csv?metric=${metric}`);
    assert.equal(csv.status, 200);
    assert.match(csv.text, new RegExp(`,${people[0].customerId},${variant},${metric},9,Clear and quick`));
    const themes = await client.get(`/v1/experiments/${experiment}/responses/themes?metric=${metric}`);
    assert.equal(themes.status, 200, JSON.stringify(themes.body));
    assert.deepEqual(themes.body.metrics.map((m: { metric: string; comments: number }) => [m.metric, m.comments]), [[metric, 1]]);
    assert.equal((await responders(experiment, metric, variant)).responders, 1);
  });

  it("when an SMS experiment declares its own 1-5 survey metric, then the short link's page offers 5 score links, a person's score counts, and answers outside 1-5 are refused", async () => {
    const effort = 'effort_five';
    const experiment = await runningExperiment(
      client,
      smsExperiment({
        metrics: {
          primary: 'sms_click',
          secondary: [effort],
          guardrails: ['unsubscribe'],
          custom: [{ key: effort, name: 'Effort, 1 (easy) to 5', kind: 'survey', direction: 'decrease', scale: { min: 1, max: 5 } }],
        },
      }),
    );
    const outboxDir = testSettings().sms.outboxDir!;
    const worker = new SendWorker({ pollMs: 50, smsTransportOptions: { outboxDir } });
    workers.push(worker);
    runners.push(startDuties(worker.duty));
    const prefix = uniqueKey('e5');
    const person = { customerId: `${prefix}-c0`, phone: `+98913${String(process.pid % 1000).padStart(3, '0')}${String(Date.now() % 10000).padStart(4, '0')}`, name: 'Sara' };
    const key = await campaign(experiment, [person], 'AcmeCare');
    await waitUntil(async () => (await client.get(`/v1/campaigns/${key}/outbox`)).body.total === 1);
    const outbox = await client.get(`/v1/campaigns/${key}/outbox`);
    const file = JSON.parse(fs.readFileSync(path.join(outboxDir, key, outbox.body.messages[0].file), 'utf8')) as { text: string };
    const shortLink = /\/m\/[A-Za-z0-9_-]{23}/.exec(file.text)![0];

    await afterDelivery();
    const page = await client.raw().get(shortLink).set('User-Agent', IPHONE);
    assert.equal(page.status, 200);
    assert.match(page.text, /data-verdict="survey"/);
    assert.match(page.text, /Please choose a score: Effort, 1 \(easy\) to 5/);
    const links = scoreLinks(page.text);
    assert.deepEqual([...links.keys()], [1, 2, 3, 4, 5]);
    const token = local(links.get(1)!).split('?')[0];
    assert.equal((await client.raw().get(`${token}?score=6`).set('User-Agent', IPHONE)).status, 400);
    const answered = await client.raw().get(local(links.get(2)!)).set('User-Agent', IPHONE);
    assert.equal(answered.status, 200);
    await trackingService.processClicks(Date.now() + 60_000);

    const variant = await variantOf(experiment, person.customerId);
    const counted = await responders(experiment, effort, variant);
    assert.equal(counted.responders, 1);
    assert.equal(counted.value, 2);
    const listed = await client.get(`/v1/experiments/${experiment}/responses?metric=${effort}`);
    assert.deepEqual(listed.body.responses.map((r: { score: number }) => r.score), [2]);

    // POST /v1/responses takes the experiment's own survey metric on its own scale.
    const outside = await client.post('/v1/responses').send({ customerId: person.customerId, metric: effort, score: 6, experiment });
    assert.equal(outside.status, 400);
    assert.match(outside.body.error.message, /^score: .*1 to 5/);
    const inside = await client.post('/v1/responses').send({ customerId: person.customerId, metric: effort, score: 4, experiment });
    assert.equal(inside.status, 201, JSON.stringify(inside.body));
    assert.equal(inside.body.countedIn, 1);
    assert.equal((await responders(experiment, effort, variant)).value, 4);
  });
});
