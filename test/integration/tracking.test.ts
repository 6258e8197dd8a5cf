import assert from 'node:assert/strict';
import { api, type Api } from '../helpers/app';
import { emailExperiment, runningExperiment, uniqueKey } from '../helpers/factories';
import { experimentsService } from '../../src/modules/experiments';
import { registerMessageLookup, renderCampaignMessage, suppressionService, trackingService, type MessageFacts, type MessageLookup, type RenderedMessage } from '../../src/modules/tracking';
import { CLICK_BURST_MS } from '../../src/modules/tracking/traffic.classifier';

/** Long enough apart that two hits of one message are not a burst over its links. */
const apart = () => new Promise((resolve) => setTimeout(resolve, CLICK_BURST_MS + 200));

const CHROME = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36';
const LINK_A = 'https://acme.example/start?plan=pro&utm_source=email';
const LINK_B = 'https://acme.example/help';

const pathOf = (url: string) => url.replace('https://verdict.test', '');

describe('tracking endpoints', () => {
  let client: Api;
  let key: string;
  const messages = new Map<string, MessageFacts>();
  let previousLookup: MessageLookup | undefined;

  before(async () => {
    client = await api();
    // Campaigns registers its own lookup; ours answers for this file's messages and defers to it otherwise.
    previousLookup = registerMessageLookup(async (id) => messages.get(id) ?? (previousLookup ? previousLookup(id) : null));
    const body = emailExperiment({
      variants: [
        { key: 'control', weight: 0.5, content: { subject: 'Welcome {{name}}', html: `<p>Hi {{name}}</p><a href="${LINK_A.replace('&', '&amp;')}">Start</a> <a href="${LINK_B}">Help</a>` } },
        { key: 'friendly', weight: 0.5, content: { subject: 'Hi {{name}}!', html: `<p>Hello {{name}}</p><a href="${LINK_A.replace('&', '&amp;')}">Start</a> <a href="${LINK_B}">Help</a>` } },
      ],
      metrics: {
        primary: 'email_open',
        secondary: ['email_click', 'email_open_human', 'csat'],
        guardrails: ['unsubscribe'],
        custom: [{ key: 'scanner_click', kind: 'binomial', event: 'email.click.scanner', direction: 'decrease' }],
      },
    });
    key = await runningExperiment(client, body);
  });

  after(() => {
    registerMessageLookup(previousLookup);
  });

  /** Assigns a new customer and renders their message, as the campaigns module would. */
  async function message(facts: Partial<MessageFacts> = {}): Promise<{ customerId: string; variant: string; message: RenderedMessage }> {
    const customerId = uniqueKey('cust');
    const assigned = await client.post('/v1/assignments').send({ experiment: key, customerId });
    assert.equal(assigned.status, 200, JSON.stringify(assigned.body));
    const messageId = uniqueKey('msg');
    messages.set(messageId, { campaign: 'welcome', customerId, ...facts });
    const experiment = await experimentsService.getRecord(key);
    const rendered = renderCampaignMessage({ campaign: { key: 'welcome', from: 'cx@acme.example' }, messageId, experiment, variant: assigned.body.variant, recipient: { customerId, email: `${customerId}@example.com`, name: 'Ada' } });
    return { customerId, variant: assigned.body.variant, message: rendered };
  }

  async function metricUnits(variant: string, metric: string): Promise<number> {
    const summary = await client.get(`/v1/experiments/${key}/summary`);
    assert.equal(summary.status, 200);
    return summary.body.variants.find((v: { variant: string }) => v.variant === variant).metrics[metric].units;
  }

  async function metricOf(variant: string, metric: string) {
    const summary = await client.get(`/v1/experiments/${key}/summary`);
    return summary.body.variants.find((v: { variant: string }) => v.variant === variant).metrics[metric];
  }

  describe('GET /t/o/:token (open pixel)', () => {
    it('when a person opens the message, then a 1×1 GIF is served and the open counts as email_open and email_open_human once', async () => {
      const { variant, message: m } = await message();
      const before = await metricUnits(variant, 'email_open');
      const humanBefore = await metricUnits(variant, 'email_open_human');
      for (let i = 0; i < 2; i++) {
        const res = await client.raw().get(pathOf(m.links.open)).set('User-Agent', CHROME);
        assert.equal(res.status, 200);
        assert.equal(res.headers['content-type'], 'image/gif');
        assert.match(res.headers['cache-control'], /no-store/);
        assert.equal((res.body as Buffer).subarray(0, 6).toString('latin1'), 'GIF89a');
      }
      assert.equal(await metricUnits(variant, 'email_open'), before + 1);
      assert.equal(await metricUnits(variant, 'email_open_human'), humanBefore + 1);
    });

    it('when Apple Mail Privacy Protection prefetches the pixel, then the open counts in email_open but not in email_open_human', async () => {
      const { variant, message: m } = await message();
      const before = await metricUnits(variant, 'email_open');
      const humanBefore = await metricUnits(variant, 'email_open_human');
      const res = await client.raw().get(pathOf(m.links.open)).set('User-Agent', 'Mozilla/5.0');
      assert.equal(res.status, 200);
      assert.equal(await metricUnits(variant, 'email_open'), before + 1);
      assert.equal(await metricUnits(variant, 'email_open_human'), humanBefore);
    });

    it('when the pixel is fetched seconds after delivery, then it is flagged as a prefetch', async () => {
      const { variant, message: m } = await message({ sentAt: new Date() });
      const humanBefore = await metricUnits(variant, 'email_open_human');
      await client.raw().get(pathOf(m.links.open)).set('User-Agent', CHROME).expect(200);
      assert.equal(await metricUnits(variant, 'email_open_human'), humanBefore);
    });

    it('when the token is tampered with, then the GIF is still served but nothing is recorded', async () => {
      const { variant, message: m } = await message();
      const before = await metricUnits(variant, 'email_open');
      const tampered = m.links.open.slice(0, -3) + (m.links.open.endsWith('AAA') ? 'BBB' : 'AAA');
      const res = await client.raw().get(pathOf(tampered)).set('User-Agent', CHROME);
      assert.equal(res.status, 200);
      assert.equal(res.headers['content-type'], 'image/gif');
      assert.equal(await metricUnits(variant, 'email_open'), before);
    });
  });

  describe('GET /t/c/:token (click)', () => {
    it('when a person clicks a link, then it redirects to exactly the template URL and counts as email_click', async () => {
      const { variant, message: m } = await message();
      const before = await metricUnits(variant, 'email_click');
      const link = m.links.clicks.find((c) => c.url === LINK_A)!;
      const res = await client.raw().get(pathOf(link.tracked)).set('User-Agent', CHROME);
      assert.equal(res.status, 302);
      assert.equal(res.headers.location, LINK_A);
      await trackingService.processClicks(Date.now() + 60_000);
      assert.equal(await metricUnits(variant, 'email_click'), before + 1);
    });

    it('when the token is tampered with, then the answer is a 404 JSON error and no redirect', async () => {
      const { message: m } = await message();
      const token = pathOf(m.links.clicks[0].tracked).split('/').pop()!;
      const [encoded, mac] = token.split('.') as [string, string];
      const fields = JSON.parse(Buffer.from(encoded, 'base64url').toString()) as string[];
      fields[6] = 'https://evil.example/phish';
      const forged = `${Buffer.from(JSON.stringify(fields)).toString('base64url')}.${mac}`;
      for (const path of [`/t/c/${forged}`, `/t/c/${token.slice(0, -1)}`, '/t/c/garbage']) {
        const res = await client.raw().get(path);
        assert.equal(res.status, 404, path);
        assert.equal(res.headers.location, undefined);
        assert.equal(res.body.error.code, 'not_found');
      }
    });

    it('when a security scanner clicks, then it is still redirected but counted as a scanner click, not email_click', async () => {
      const { variant, message: m } = await message();
      const before = await metricUnits(variant, 'email_click');
      const scannerBefore = await metricUnits(variant, 'scanner_click');
      const res = await client.raw().get(pathOf(m.links.clicks[0].tracked)).set('User-Agent', 'Microsoft Office Existence Discovery');
      assert.equal(res.status, 302);
      assert.equal(res.headers.location, LINK_A);
      await trackingService.processClicks(Date.now() + 60_000);
      assert.equal(await metricUnits(variant, 'email_click'), before);
      assert.equal(await metricUnits(variant, 'scanner_click'), scannerBefore + 1);
    });

    it('when every link of a message is hit at once, then the clicks are a scanner walking the links', async () => {
      const { variant, message: m } = await message();
      const before = await metricUnits(variant, 'email_click');
      const scannerBefore = await metricUnits(variant, 'scanner_click');
      for (const link of m.links.clicks) await client.raw().get(pathOf(link.tracked)).set('User-Agent', CHROME).expect(302);
      await trackingService.processClicks(Date.now() + 60_000);
      assert.equal(await metricUnits(variant, 'email_click'), before);
      assert.equal(await metricUnits(variant, 'scanner_click'), scannerBefore + 1);
    });

    it('when the hidden honeypot link is hit, then it answers without a redirect and the next clicks of that message are not counted', async () => {
      const { variant, message: m } = await message();
      const before = await metricUnits(variant, 'email_click');
      const honeypot = [...m.html.matchAll(/href="([^"]+)"[^>]*aria-hidden="true"/g)].map((x) => x[1])[0];
      const trap = await client.raw().get(pathOf(honeypot)).set('User-Agent', CHROME);
      assert.equal(trap.status, 200);
      assert.equal(trap.headers.location, undefined);
      await client.raw().get(pathOf(m.links.clicks[1].tracked)).set('User-Agent', CHROME).expect(302);
      await trackingService.processClicks(Date.now() + 60_000);
      assert.equal(await metricUnits(variant, 'email_click'), before);
    });

    it('when a click arrives within seconds of delivery, then it is not counted as email_click', async () => {
      const { variant, message: m } = await message({ sentAt: new Date() });
      const before = await metricUnits(variant, 'email_click');
      await client.raw().get(pathOf(m.links.clicks[0].tracked)).set('User-Agent', CHROME).expect(302);
      await trackingService.processClicks(Date.now() + 60_000);
      assert.equal(await metricUnits(variant, 'email_click'), before);
    });
  });

  describe('/s/:token (one-click survey)', () => {
    it('when a score link is followed and later another and then a comment is sent, then the latest answer counts once', async () => {
      const { variant, message: m } = await message();
      const before = await metricOf(variant, 'csat');
      const four = m.links.survey.find((s) => s.score === 4)!;
      const first = await client.raw().get(pathOf(four.url)).set('User-Agent', CHROME);
      assert.equal(first.status, 200);
      assert.match(first.headers['content-type'], /text\/html/);
      assert.match(first.headers['content-security-policy'], /default-src 'none'/);
      assert.doesNotMatch(first.headers['content-security-policy'], /script-src/);
      assert.match(first.text, /<form method="post" action="[A-Za-z0-9_.-]+">/);
      await trackingService.processClicks(Date.now() + 60_000);
      let csat = await metricOf(variant, 'csat');
      assert.equal(csat.units, before.units + 1);
      assert.equal(csat.histogram?.['4'], (before.histogram?.['4'] ?? 0) + 1);

      const two = m.links.survey.find((s) => s.score === 2)!;
      await apart();
      await client.raw().get(pathOf(two.url)).set('User-Agent', CHROME).expect(200);
      await trackingService.processClicks(Date.now() + 60_000);
      csat = await metricOf(variant, 'csat');
      assert.equal(csat.units, before.units + 1);
      assert.equal(csat.histogram?.['4'] ?? 0, before.histogram?.['4'] ?? 0);
      assert.equal(csat.histogram?.['2'], (before.histogram?.['2'] ?? 0) + 1);

      const commented = await client.raw().post(pathOf(two.url.split('?')[0])).type('form').send({ score: '5', comment: 'Great <b>service</b>' });
      assert.equal(commented.status, 200);
      assert.doesNotMatch(commented.text, /<b>service/);
      csat = await metricOf(variant, 'csat');
      assert.equal(csat.units, before.units + 1);
      assert.equal(csat.histogram?.['5'], (before.histogram?.['5'] ?? 0) + 1);
      assert.equal(csat.histogram?.['2'] ?? 0, before.histogram?.['2'] ?? 0);
    });

    it('when a link scanner follows every score link, then the pages are shown but no answer is recorded', async () => {
      const { variant, message: m } = await message();
      const before = await metricOf(variant, 'csat');
      for (const link of m.links.survey) {
        await client.raw().get(pathOf(link.url)).set('User-Agent', 'Mozilla/5.0 (compatible; Proofpoint URL Defense)').expect(200);
      }
      await trackingService.processClicks(Date.now() + 60_000);
      assert.deepEqual(await metricOf(variant, 'csat'), before);
    });

    describe('scanners on NPS links', () => {
      let nps: string;
      before(async () => {
        nps = await runningExperiment(client, emailExperiment({ metrics: { primary: 'email_open', secondary: ['nps'], guardrails: [] } }));
      });

      async function npsMessage(facts: Partial<MessageFacts> = {}) {
        const customerId = uniqueKey('cust');
        const assigned = await client.post('/v1/assignments').send({ experiment: nps, customerId });
        assert.equal(assigned.status, 200, JSON.stringify(assigned.body));
        const messageId = uniqueKey('msg');
        messages.set(messageId, { campaign: 'welcome', customerId, ...facts });
        const rendered = renderCampaignMessage({ campaign: { key: 'welcome', from: 'cx@acme.example' }, messageId, experiment: await experimentsService.getRecord(nps), variant: assigned.body.variant, recipient: { customerId, email: `${customerId}@example.com` } });
        assert.equal(rendered.links.survey.length, 11);
        return { customerId, variant: assigned.body.variant as string, message: rendered };
      }

      async function answersOf(customerId: string): Promise<{ score: number; responseId: string }[]> {
        const res = await client.get(`/v1/experiments/${nps}/responses?limit=200`);
        assert.equal(res.status, 200);
        return res.body.responses.filter((r: { customerId: string }) => r.customerId === customerId);
      }

      it('when a scanner-like burst follows all eleven NPS links and then the person picks a score, then the answer is their choice and the burst counts for nothing', async () => {
        const { customerId, variant, message: m } = await npsMessage();
        // A browser-looking agent, so only the burst over the links gives it away.
        for (const link of m.links.survey) await client.raw().get(pathOf(link.url)).set('User-Agent', CHROME).expect(200);
        await apart();
        const choice = m.links.survey.find((s) => s.score === 8)!;
        const page = await client.raw().get(pathOf(choice.url)).set('User-Agent', CHROME);
        assert.equal(page.status, 200);
        await trackingService.processClicks(Date.now() + 60_000);
        const answers = await answersOf(customerId);
        assert.deepEqual(answers.map((a) => a.score), [8]);
        const summary = await client.get(`/v1/experiments/${nps}/summary`);
        const metric = summary.body.variants.find((v: { variant: string }) => v.variant === variant).metrics.nps;
        assert.equal(metric.units, 1);
        assert.deepEqual(metric.histogram, { 8: 1 });
      });

      it("when a scanner follows the links after a person answered, then the person's answer stands; their own later answer still replaces it", async () => {
        const { customerId, variant, message: m } = await npsMessage();
        const histogram = async () => (await client.get(`/v1/experiments/${nps}/summary`)).body.variants.find((v: { variant: string }) => v.variant === variant).metrics.nps.histogram ?? {};
        const before = await histogram();
        await client.raw().get(pathOf(m.links.survey[9].url)).set('User-Agent', CHROME).expect(200);
        await trackingService.processClicks(Date.now() + 60_000);
        await apart();
        for (const link of m.links.survey) await client.raw().get(pathOf(link.url)).set('User-Agent', 'Mozilla/5.0 (compatible; Proofpoint URL Defense)').expect(200);
        await trackingService.processClicks(Date.now() + 60_000);
        assert.deepEqual((await answersOf(customerId)).map((a) => a.score), [9]);
        await apart();
        await client.raw().get(pathOf(m.links.survey[6].url)).set('User-Agent', CHROME).expect(200);
        await trackingService.processClicks(Date.now() + 60_000);
        assert.deepEqual((await answersOf(customerId)).map((a) => a.score), [6, 9]);
        const after = await histogram();
        assert.equal(after['6'] ?? 0, (before['6'] ?? 0) + 1);
        assert.equal(after['9'] ?? 0, before['9'] ?? 0);
      });

      it("when the survey asks a follow-up question, then the thank-you page asks it in the recipient's language and the reply is the answer's comment", async () => {
        const wrong = await client.patch(`/v1/experiments/${nps}`).send({ survey: { followUp: {} } });
        assert.equal(wrong.status, 400);
        assert.match(JSON.stringify(wrong.body.error.details), /survey\.followUp|"survey","followUp"/);
        const patched = await client.patch(`/v1/experiments/${nps}`).send({ survey: { followUp: { en: 'What should we <fix> first?' } } });
        assert.equal(patched.status, 200, JSON.stringify(patched.body));
        assert.deepEqual(patched.body.survey, { followUp: { en: 'What should we <fix> first?' } });
        try {
          const { customerId, message: m } = await npsMessage();
          const en = await client.raw().get(pathOf(m.links.survey[2].url)).set('User-Agent', CHROME);
          assert.match(en.text, /<label for="comment">What should we &#60;fix&#62; first\?<\/label>/);
          const answer = /name="answer" value="([^"]+)"/.exec(en.text)![1];
          await client.raw().post(pathOf(m.links.survey[2].url.split('?')[0])).type('form').send({ score: '2', answer, comment: 'The app logs me out' }).expect(200);
          await trackingService.processClicks(Date.now() + 60_000);
          assert.deepEqual((await answersOf(customerId)).map((a) => [a.score, (a as { comment?: string }).comment]), [[2, 'The app logs me out']]);
          // No Persian text was given: the built-in question, in Persian.
          const { message: fa } = await npsMessage({ locale: 'fa' });
          const page = await client.raw().get(pathOf(fa.links.survey[7].url)).set('User-Agent', CHROME);
          assert.match(page.text, /<label for="comment">دلیل اصلی امتیاز شما چیست؟<\/label>/);
          await client.patch(`/v1/experiments/${nps}`).send({ survey: { followUp: true } }).expect(200);
          const { message: plain } = await npsMessage();
          assert.match((await client.raw().get(pathOf(plain.links.survey[1].url)).set('User-Agent', CHROME)).text, /What is the main reason for your score\?/);
        } finally {
          const removed = await client.patch(`/v1/experiments/${nps}`).send({ survey: null });
          assert.equal(removed.status, 200);
          assert.equal(removed.body.survey, undefined);
        }
        const { message: none } = await npsMessage();
        assert.match((await client.raw().get(pathOf(none.links.survey[1].url)).set('User-Agent', CHROME)).text, /Anything you would like to add\?/);
      });

      it('when the person sends the comment form of the page, then the comment is stored on that answer, before or after it was classified', async () => {
        for (const classifiedFirst of [true, false]) {
          const { customerId, message: m } = await npsMessage();
          const link = m.links.survey[3];
          const page = await client.raw().get(pathOf(link.url)).set('User-Agent', CHROME);
          const answer = /name="answer" value="([^"]+)"/.exec(page.text)?.[1];
          assert.ok(answer, 'the page names its answer');
          if (classifiedFirst) await trackingService.processClicks(Date.now() + 60_000);
          const posted = await client.raw().post(pathOf(link.url.split('?')[0])).type('form').send({ score: '3', answer, comment: 'Support never called back' });
          assert.equal(posted.status, 200);
          await trackingService.processClicks(Date.now() + 60_000);
          const answers = await answersOf(customerId);
          assert.equal(answers.length, 1, JSON.stringify(answers));
          assert.deepEqual(answers.map((a) => [a.score, (a as { comment?: string }).comment]), [[3, 'Support never called back']]);
        }
      });
    });

    it('when the score is off the scale, then a 400 page is shown and nothing is recorded', async () => {
      const { variant, message: m } = await message();
      const before = await metricOf(variant, 'csat');
      const base = pathOf(m.links.survey[0].url.split('?')[0]);
      for (const query of ['?score=9', '?score=0', '?score=abc', '']) {
        const res = await client.raw().get(base + query);
        assert.equal(res.status, 400, query);
        assert.match(res.text, /1 to 5/);
      }
      const post = await client.raw().post(base).type('form').send({ score: '6', comment: 'x' });
      assert.equal(post.status, 400);
      assert.deepEqual(await metricOf(variant, 'csat'), before);
    });

    it('when the recipient reads Persian or Arabic, then the thank-you page is in their language, right to left', async () => {
      const { message: m } = await message({ locale: 'fa-IR' });
      const fa = await client.raw().get(pathOf(m.links.survey[4].url));
      assert.equal(fa.status, 200);
      assert.match(fa.text, /<html lang="fa" dir="rtl">/);
      assert.match(fa.text, /سپاسگزاریم/);
      const { message: other } = await message();
      const ar = await client.raw().get(pathOf(other.links.survey[0].url)).set('Accept-Language', 'ar-EG,ar;q=0.9,en;q=0.5');
      assert.match(ar.text, /<html lang="ar" dir="rtl">/);
      assert.match(ar.text, /شكرًا لك/);
      const en = await client.raw().get(pathOf(other.links.survey[0].url)).set('Accept-Language', 'de-DE');
      assert.match(en.text, /<html lang="en" dir="ltr">/);
    });

    it('when a survey token is tampered with or used for another purpose, then a 404 page is shown', async () => {
      const { message: m } = await message();
      const res = await client.raw().get(`${pathOf(m.links.survey[0].url.split('?')[0])}x?score=3`);
      assert.equal(res.status, 404);
      const wrongPurpose = await client.raw().get(`/s/${pathOf(m.links.unsubscribe).split('/').pop()}?score=3`);
      assert.equal(wrongPurpose.status, 404);
    });
  });

  describe('/u/:token (unsubscribe)', () => {
    it('when the link is opened, then a confirm page is shown and nothing changes', async () => {
      const { customerId, message: m } = await message();
      const res = await client.raw().get(pathOf(m.links.unsubscribe));
      assert.equal(res.status, 200);
      assert.match(res.text, /<form method="post"/);
      assert.equal(await suppressionService.isSuppressed({ customerId }), false);
    });

    it('when a mail client POSTs List-Unsubscribe=One-Click, then 200 without a redirect, suppressed, and the unsubscribe metric counts once however often it is repeated', async () => {
      const { customerId, variant, message: m } = await message();
      const before = await metricUnits(variant, 'unsubscribe');
      for (let i = 0; i < 3; i++) {
        const res = await client.raw().post(pathOf(m.links.unsubscribe)).type('form').send('List-Unsubscribe=One-Click');
        assert.equal(res.status, 200);
        assert.equal(res.headers.location, undefined);
        assert.equal(res.headers['set-cookie'], undefined);
      }
      assert.equal(await suppressionService.isSuppressed({ customerId }), true);
      assert.equal(await metricUnits(variant, 'unsubscribe'), before + 1);
    });

    it('when the token is tampered with, then 404 and nobody is unsubscribed', async () => {
      const { customerId, message: m } = await message();
      const res = await client.raw().post(`${pathOf(m.links.unsubscribe)}A`).type('form').send('List-Unsubscribe=One-Click');
      assert.equal(res.status, 404);
      assert.equal(await suppressionService.isSuppressed({ customerId }), false);
    });
  });

  describe('suppression list', () => {
    it('when a customer unsubscribes with an email, then both the customer and the address (any case) are suppressed, idempotently', async () => {
      const customerId = uniqueKey('cust');
      const email = `${customerId}@Example.com`;
      assert.equal(await suppressionService.isSuppressed({ customerId, email }), false);
      assert.deepEqual(await suppressionService.unsubscribe({ customerId, email, source: 'api' }), { created: true });
      assert.deepEqual(await suppressionService.unsubscribe({ customerId, email, source: 'api' }), { created: false });
      assert.equal(await suppressionService.isSuppressed({ email: email.toUpperCase() }), true);
      assert.equal(await suppressionService.isSuppressed({ customerId }), true);
      assert.equal(await suppressionService.isSuppressed({ customerId: uniqueKey('cust') }), false);
    });
  });
});
