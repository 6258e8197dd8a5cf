import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { signShareToken } from '../../src/modules/reports';
import { api, type Api } from '../helpers/app';
import { browserAgainst } from '../helpers/browser';
import { emailExperiment, experimentWithClearWinner } from '../helpers/factories';


/**
 * An email experiment with a clear winner: 400 customers split by hash, 'friendly' opened by 60% of its
 * customers and 'control' by 15%, nobody unsubscribed (the guardrail).
 */
async function experimentWithWinner(client: Api): Promise<string> {
  const { key, assignments } = await experimentWithClearWinner(
    client,
    emailExperiment({ analysis: { minSamplePerVariant: 50 }, metrics: { primary: 'email_open', secondary: ['email_click', 'csat'], guardrails: ['unsubscribe'] } }),
  );
  // A CSAT survey answered by the first 12 customers of each variant.
  const answered: Record<string, number> = {};
  for (const a of assignments) {
    answered[a.variant] = (answered[a.variant] ?? 0) + 1;
    if (answered[a.variant] > 12) continue;
    const response = await client.post('/v1/responses').send({ customerId: a.customerId, experiment: key, metric: 'csat', score: answered[a.variant] % 2 ? 4 : 5 });
    assert.equal(response.status, 201, JSON.stringify(response.body));
  }
  return key;
}

/** The path and query of a share link, to open it on the local server (the link's origin is PUBLIC_BASE_URL). */
function localPath(url: string): string {
  const parsed = new URL(url);
  return `${parsed.pathname}${parsed.search}`;
}

describe('reports', () => {
  let client: Api;
  let winner: string;
  let share: { url: string; expiresAt: string };

  before(async () => {
    client = await api();
    winner = await experimentWithWinner(client);
    const response = await client.post(`/v1/experiments/${winner}/share`).send({});
    assert.equal(response.status, 201, JSON.stringify(response.body));
    share = response.body;
  });

  describe('POST /v1/experiments/:key/share', () => {
    it('when a link is requested without expiresIn, then it points at /reports/:key on PUBLIC_BASE_URL and expires in 7 days', async () => {
      const url = new URL(share.url);
      assert.equal(url.origin, 'https://verdict.test');
      assert.equal(url.pathname, `/reports/${winner}`);
      assert.match(url.searchParams.get('token') ?? '', /^\d+\.[A-Za-z0-9_-]{43}$/);
      const days = (Date.parse(share.expiresAt) - Date.now()) / 86_400_000;
      assert.ok(days > 6.99 && days <= 7, `expires in ${days} days`);
    });

    it('when expiresIn is an ISO-8601 duration or seconds, then the link expires after that long', async () => {
      const iso = await client.post(`/v1/experiments/${winner}/share`).send({ expiresIn: 'PT2H' });
      assert.equal(iso.status, 201, JSON.stringify(iso.body));
      const hours = (Date.parse(iso.body.expiresAt) - Date.now()) / 3_600_000;
      assert.ok(hours > 1.99 && hours <= 2, `expires in ${hours} hours`);
      const seconds = await client.post(`/v1/experiments/${winner}/share`).send({ expiresIn: 600 });
      assert.equal(seconds.status, 201);
      const minutes = (Date.parse(seconds.body.expiresAt) - Date.now()) / 60_000;
      assert.ok(minutes > 9.9 && minutes <= 10, `expires in ${minutes} minutes`);
    });

    it('when the request has no body at all, then the default expiry applies', async () => {
      const response = await client.post(`/v1/experiments/${winner}/share`);
      assert.equal(response.status, 201, JSON.stringify(response.body));
    });

    it('when expiresIn is beyond 90 days, in months, malformed, or another field is sent, then 400 names the field', async () => {
      for (const expiresIn of ['P91D', 'P1M', 'soon', 7776001, 5]) {
        const response = await client.post(`/v1/experiments/${winner}/share`).send({ expiresIn });
        assert.equal(response.status, 400, `${expiresIn}: ${JSON.stringify(response.body)}`);
        assert.match(response.body.error.message, /^expiresIn: /);
      }
      const extra = await client.post(`/v1/experiments/${winner}/share`).send({ expiresIn: 'P1D', audience: 'all' });
      assert.equal(extra.status, 400);
    });

    it('when the experiment does not exist, then 404', async () => {
      const response = await client.post('/v1/experiments/no-such-experiment/share').send({});
      assert.equal(response.status, 404);
    });

    it('when a viewer asks, then a link is made; an ingest key is refused', async () => {
      const viewer = await client.post('/v1/api-keys').send({ name: 'report reader', role: 'viewer' });
      const ingest = await client.post('/v1/api-keys').send({ name: 'report ingest', role: 'ingest' });
      assert.equal((await (await api(viewer.body.key)).post(`/v1/experiments/${winner}/share`).send({})).status, 201);
      assert.equal((await (await api(ingest.body.key)).post(`/v1/experiments/${winner}/share`).send({})).status, 403);
    });
  });

  describe('GET /reports/:key', () => {
    it('when the link is valid, then a self-contained HTML page with the verdict is served that forbids scripts and caching', async () => {
      const response = await client.raw().get(localPath(share.url));
      assert.equal(response.status, 200);
      assert.match(response.headers['content-type'], /^text\/html/);
      assert.match(response.headers['content-security-policy'], /default-src 'none'/);
      assert.doesNotMatch(response.headers['content-security-policy'], /script-src/, "scripts fall under default-src 'none'");
      assert.equal(response.headers['cache-control'], 'no-store');
      assert.equal(response.headers['referrer-policy'], 'no-referrer');
      assert.match(response.text, /Ship &#x27;friendly&#x27;: it raised the email open rate by/);
      // Read your writes: the page says what it counts, and so do its headers.
      assert.match(response.text, /Counts everything received before \d{4}-\d{2}-\d{2} /);
      assert.ok(!Number.isNaN(Date.parse(response.headers['x-counted-as-of'])), 'X-Counted-As-Of is a time');
      assert.equal(response.headers['x-counted-pending'], '0');
      assert.equal(response.headers['x-counted-complete'], 'true');
      assert.ok(!/<script/i.test(response.text), 'no script element');
      assert.ok(!/(src|href)="https?:/i.test(response.text), 'no external asset');
    });

    const notFound = async (path: string) => {
      const response = await client.raw().get(path);
      assert.equal(response.status, 404, path);
      assert.match(response.headers['content-type'], /^text\/html/);
      assert.equal(response.headers['cache-control'], 'no-store');
      return response.text;
    };

    it('when the token is tampered with, missing, made for another experiment or expired, then the same 404 page is served', async () => {
      const token = new URL(share.url).searchParams.get('token')!;
      const [expiry, mac] = token.split('.') as [string, string];
      const flipped = `${mac.slice(0, 5)}${mac[5] === 'A' ? 'B' : 'A'}${mac.slice(6)}`;
      const other = await experimentWithWinner(client);
      const secret = process.env.TRACKING_SECRET!;
      const expired = signShareToken(secret, winner, Math.floor(Date.now() / 1000) - 1);
      const pages = [
        await notFound(`/reports/${winner}?token=${expiry}.${flipped}`),
        await notFound(`/reports/${winner}?token=${Number(expiry) + 86400}.${mac}`),
        await notFound(`/reports/${winner}`),
        await notFound(`/reports/${other}?token=${token}`),
        await notFound(`/reports/${winner}?token=${expired}`),
        await notFound(`/reports/NOT_A_KEY?token=${token}`),
      ];
      for (const page of pages) assert.equal(page, pages[0]);
      assert.match(pages[0], /Report not found/);
      assert.ok(!pages[0].includes(winner), 'the page does not confirm the experiment exists');
    });

    it('when a correctly signed link names an experiment that was deleted, then 404', async () => {
      const draft = emailExperiment();
      await client.post('/v1/experiments').send(draft);
      const link = await client.post(`/v1/experiments/${draft.key}/share`).send({});
      assert.equal(link.status, 201);
      assert.equal((await client.delete(`/v1/experiments/${draft.key}`)).status, 204);
      await notFound(localPath(link.body.url));
    });
  });

  describe('in a real browser', () => {
    let browser: Browser;
    let base: string;

    before(async function () {
      this.timeout(60_000);
      ({ browser, base } = await browserAgainst(client.app));
    });

    it('when the share link is opened in Chromium with JavaScript off, then the verdict, the health checks, one chart per metric with a CI mark per variant, and the history show', async () => {
      const context = await browser.newContext({ javaScriptEnabled: false });
      try {
        const page = await context.newPage();
        const response = await page.goto(`${base}${localPath(share.url)}`);
        assert.equal(response?.status(), 200);
        const verdict = await page.locator('#verdict .verdict-sentence').innerText();
        assert.match(verdict, /^Ship 'friendly': it raised the email open rate by \d+\.\d% \(95% CI -?\d+\.\d% to \d+\.\d%\) with no guardrail harmed\.$/);

        const results = await client.get(`/v1/experiments/${winner}/results`);
        assert.equal(results.status, 200);
        const metrics = results.body.metrics as { metric: string }[];
        assert.equal(await page.locator('svg.chart:not(.cohort-chart)').count(), metrics.length, 'one interval chart per metric');
        assert.equal(await page.locator('svg.cohort-chart').count(), 1, 'and the lift by assignment cohort');

        const chart = page.locator('#metric-email_open svg.chart');
        assert.equal(await chart.count(), 1);
        const marks = chart.locator('g.ci-mark');
        assert.equal(await marks.count(), 2);
        assert.deepEqual((await marks.evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-variant')))).sort(), ['control', 'friendly']);
        // Each mark is drawn: a visible dot and whisker with a real size on screen.
        for (let i = 0; i < 2; i++) {
          const box = await marks.nth(i).boundingBox();
          assert.ok(box && box.width > 5 && box.height > 5, JSON.stringify(box));
          assert.equal(await marks.nth(i).locator('circle.dot').count(), 1);
        }
        assert.equal(await chart.locator('line.reference').count(), 1);
        // The friendly estimate (60%) is to the right of the control's (15%).
        const dotX = async (variant: string) => Number(await chart.locator(`g.ci-mark[data-variant="${variant}"] circle.dot`).getAttribute('cx'));
        assert.ok((await dotX('friendly')) > (await dotX('control')));

        assert.match(await page.locator('#health').innerText(), /Sample ratio OK/);
        const survey = await page.locator('#metric-csat table.survey tbody tr').allInnerTexts();
        assert.equal(survey.length, 2);
        for (const row of survey) assert.match(row, /^(control|friendly)\s+\d+\s+12\s+[\d.]+%\s+1: 0, 2: 0, 3: 0, 4: 6, 5: 6$/);
        const rows = await page.locator('#metric-email_open table.numbers tbody tr').allInnerTexts();
        assert.equal(rows.length, 2);
        assert.match(rows.find((r) => r.startsWith('friendly'))!, /better/);
        const history = await page.locator('#history tbody tr').allInnerTexts();
        assert.ok(history.some((r) => /\bcreated\b/.test(r)) && history.some((r) => /\bstart\b/.test(r)), history.join('\n'));
      } finally {
        await context.close();
      }
    });

    it('when a tampered link is opened in Chromium, then the not-found page shows', async () => {
      const page = await browser.newPage();
      try {
        const response = await page.goto(`${base}/reports/${winner}?token=1.${'A'.repeat(43)}`);
        assert.equal(response?.status(), 404);
        assert.match(await page.locator('h1').innerText(), /Report not found/);
      } finally {
        await page.close();
      }
    });
  });
});
