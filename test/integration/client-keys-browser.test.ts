// The browser snippet (/sdk/verdict.js) in Chromium, on real pages served from another loopback origin
// than the service's (so the script, the payload and the beacons all cross origins): the variant shown is
// the service's assignment, the exposure and a click arrive by sendBeacon when the page is hidden and are
// counted, and the snippet's own hash and conditions bucket thousands of customers as the service does.
import assert from 'node:assert/strict';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { api, type Api } from '../helpers/app';
import { browserAgainst } from '../helpers/browser';
import { pageExperiment, runningExperiment, uniqueKey } from '../helpers/factories';
import { registerStopper } from '../helpers/resources';

/** An HTTP server on its own loopback port (its own origin) answering every path with `html(url)`. */
async function pageOrigin(html: (url: URL) => string): Promise<string> {
  const server = await new Promise<Server>((resolve) => {
    const s = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://page.test');
      if (url.pathname === '/favicon.ico') {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' }).end(html(url));
    }).listen(0, '127.0.0.1', () => resolve(s));
  });
  registerStopper(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

interface Beacon {
  contentType: string;
  origin: string;
  body: string;
}

/**
 * A reverse proxy in front of the service that keeps the body of every POST /api/events/... it forwards:
 * the browser reports no request of a page that is unloading, so the beacons are watched where they arrive.
 */
async function recordingProxy(target: string, beacons: Beacon[]): Promise<string> {
  const server = await new Promise<Server>((resolve) => {
    const s = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        if (req.method === 'POST' && req.url?.startsWith('/api/events/')) {
          beacons.push({ contentType: String(req.headers['content-type']), origin: String(req.headers.origin), body: body.toString('utf8') });
        }
        const forward = httpRequest(`${target}${req.url}`, { method: req.method, headers: { ...req.headers, host: new URL(target).host } }, (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        });
        forward.on('error', () => res.writeHead(502).end());
        forward.end(body);
      });
    }).listen(0, '127.0.0.1', () => resolve(s));
  });
  registerStopper(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('browser snippet /sdk/verdict.js (Chromium)', () => {
  let client: Api;
  let browser: Browser;
  let base: string;
  let pages: string;
  let stranger: string;
  let clientKey: string;
  const beacons: Beacon[] = [];

  /** A page that loads the snippet from the service, shows its variant and tracks a click. */
  const page = (url: URL) => {
    const q = (name: string) => JSON.stringify(url.searchParams.get(name) ?? '');
    return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Help centre</title>
${url.searchParams.has('nobeacon') ? '<script>Object.defineProperty(navigator, "sendBeacon", { value: undefined });</script>' : ''}
<script src="${base}/sdk/verdict.js"></script></head>
<body><h1 id="variant">loading</h1><button id="cta">Get help</button>
<script>
  Verdict.init({ clientKey: ${q('key')}, apiHost: ${JSON.stringify(base)}, customerId: ${q('cid')}, attributes: { plan: 'pro' } }).then(function () {
    document.getElementById('variant').textContent = Verdict.variant(${q('exp')});
    Verdict.variant(${q('exp')});
  }, function (error) {
    document.getElementById('variant').textContent = 'error: ' + error.message;
  });
  document.getElementById('cta').addEventListener('click', function () {
    Verdict.track('cta.click', { properties: { place: 'hero' } });
  });
</script></body></html>`;
  };

  before(async function () {
    this.timeout(120_000);
    client = await api();
    const service = await browserAgainst(client.app);
    browser = service.browser;
    base = await recordingProxy(service.base, beacons);
    pages = await pageOrigin(page);
    stranger = await pageOrigin(page);
    const created = await client.post('/v1/client-keys').send({ name: 'help centre pages', allowedOrigins: [pages] });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    clientKey = created.body.key;
  });

  async function openPage(context: BrowserContext, origin: string, experiment: string, customerId: string, extra = ''): Promise<{ page: Page; shown: string }> {
    const tab = await context.newPage();
    await tab.goto(`${origin}/help?key=${clientKey}&exp=${experiment}&cid=${customerId}${extra}`);
    await tab.waitForFunction(() => (globalThis as unknown as { document: { getElementById(id: string): { textContent: string } } }).document.getElementById('variant').textContent !== 'loading', undefined, { timeout: 15_000 });
    return { page: tab, shown: (await tab.textContent('#variant'))! };
  }

  it('when a page on another origin shows its variant and the visitor clicks, then the variant is the service\'s assignment and the exposure and the click arrive once, on page hide, and are counted', async function () {
    this.timeout(120_000);
    const key = await runningExperiment(
      client,
      pageExperiment({
        key: uniqueKey('snippet'),
        targeting: { plan: 'pro' },
        metrics: { primary: 'cta_click', custom: [{ key: 'cta_click', kind: 'binomial', event: 'cta.click', direction: 'increase' }] },
      }),
    );
    const customerId = `visitor-${uniqueKey('c')}`;
    const mine = () => beacons.filter((b) => b.body.includes(customerId));
    const context = await browser.newContext();
    const problems: string[] = [];
    try {
      const { page: tab, shown } = await openPage(context, pages, key, customerId);
      tab.on('pageerror', (error) => problems.push(error.message));

      assert.ok(['control', 'guided'].includes(shown), `shown: ${shown}`);

      // Batched: nothing is sent while the page is visible.
      await tab.click('#cta');
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(mine().length, 0, 'nothing sent before the page is hidden');
      assert.deepEqual((await client.get(`/v1/experiments/${key}/assignments?customerId=${customerId}`)).body.assignments, []);

      // Leaving the page hides it: one beacon with the exposure (once, though variant() was called twice) and the click.
      await tab.goto('about:blank');
      const stored = await until('the exposure to be recorded', async () => {
        const res = await client.get(`/v1/experiments/${key}/assignments?customerId=${customerId}`);
        return res.body.assignments.length > 0 ? (res.body.assignments[0] as { variant: string; reason: string }) : undefined;
      });
      assert.deepEqual([stored.variant, stored.reason], [shown, 'hash']);

      // The service's assignment for the same customer (and attributes) is the variant shown.
      const server = await client.post('/v1/assignments').send({ experiment: key, customerId, attributes: { plan: 'pro' } });
      assert.deepEqual([server.body.variant, server.body.reason], [shown, 'sticky']);

      const counted = await until('the click to be counted', async () => {
        const res = await client.get(`/v1/experiments/${key}/summary`);
        assert.equal(res.status, 200);
        const variant = (res.body.variants as { variant: string; assigned: number; metrics: Record<string, { units: number }> }[]).find((v) => v.variant === shown)!;
        return variant.metrics.cta_click.units > 0 ? variant : undefined;
      });
      assert.equal(counted.assigned, 1);
      assert.equal(counted.metrics.cta_click.units, 1);

      assert.equal(mine().length, 1, JSON.stringify(mine()));
      const [beacon] = mine();
      // What navigator.sendBeacon sends for a string: text/plain, no preflight; from the page's origin.
      assert.equal(beacon.contentType, 'text/plain;charset=UTF-8');
      assert.equal(beacon.origin, pages);
      const items = (JSON.parse(beacon.body) as { items: { type: string; experiment?: string; variant?: string; name?: string; customerId: string; id: string }[] }).items;
      assert.deepEqual(
        items.map((item) => [item.type, item.experiment ?? item.name, item.variant ?? null, item.customerId]),
        [
          ['exposure', key, shown, customerId],
          ['event', 'cta.click', null, customerId],
        ],
      );
      assert.notEqual(items[0].id, items[1].id);
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  it('when the snippet buckets 3000 customers in the browser (unequal weights, coverage 0.7, a targeting condition), then each gets the variant POST /v1/assignments/batch gives', async function () {
    this.timeout(120_000);
    const key = await runningExperiment(
      client,
      pageExperiment({
        key: uniqueKey('snippethash'),
        variants: [
          { key: 'control', weight: 0.25, content: { url: 'https://acme.example/help' } },
          { key: 'guided', weight: 0.6, content: { url: 'https://acme.example/help?layout=guided' } },
          { key: 'search', weight: 0.15, content: { url: 'https://acme.example/help?layout=search' } },
        ],
        coverage: 0.7,
        targeting: { country: { $in: ['AE', 'SA'] }, plan: { $ne: 'free' }, age: { $gte: 21 }, 'account.verified': true },
      }),
    );
    const customers = Array.from({ length: 3000 }, (_, i) => {
      const attributes: Record<string, unknown> = {};
      if (i % 4 !== 3) attributes.country = ['AE', 'SA', 'US'][i % 3];
      if (i % 5 !== 4) attributes.plan = ['pro', 'free'][Math.floor(i / 4) % 2];
      attributes.age = 15 + (i % 17);
      if (i % 9 !== 0) attributes.account = { verified: i % 10 !== 0 };
      return { customerId: `${key}-v${i}`, attributes };
    });
    const assigned = await client.post('/v1/assignments/batch').send({ experiment: key, customers });
    assert.equal(assigned.status, 200, JSON.stringify(assigned.body));
    const expected = (assigned.body.assignments as { variant: string | null }[]).map((a) => a.variant);

    const context = await browser.newContext();
    try {
      const { page: tab } = await openPage(context, pages, key, 'hash-checker');
      const inBrowser = await tab.evaluate(
        ({ experiment, list }) =>
          list.map((c) => {
            const result = (globalThis as unknown as { Verdict: { evaluate(key: string, attributes: Record<string, unknown>): { variant: string; inExperiment: boolean } } }).Verdict.evaluate(experiment, { ...c.attributes, id: c.customerId });
            return result.inExperiment ? result.variant : null;
          }),
        { experiment: key, list: customers },
      );
      const differ = customers.filter((_, i) => inBrowser[i] !== expected[i]).map((c, i) => `${c.customerId}: browser ${inBrowser[i]}, service ${expected[i]}`);
      assert.deepEqual(differ, []);
      const counts = expected.reduce<Record<string, number>>((acc, v) => ((acc[String(v)] = (acc[String(v)] ?? 0) + 1), acc), {});
      assert.ok(counts.null > 1000 && counts.control > 50 && counts.guided > 150 && counts.search > 20, JSON.stringify(counts));
    } finally {
      await context.close();
    }
  });

  it('when a page on an origin the key does not list loads the snippet, then the payload is refused (CORS) and nothing is recorded', async function () {
    this.timeout(60_000);
    const key = await runningExperiment(client, pageExperiment({ key: uniqueKey('snippetcors') }));
    const context = await browser.newContext();
    try {
      const { page: tab, shown } = await openPage(context, stranger, key, 'outsider');
      assert.match(shown, /^error: /);
      await tab.click('#cta');
      await tab.goto('about:blank');
      // The click's beacon is sent (a simple request needs no preflight) and refused by the service.
      await until('the beacon', async () => (beacons.some((b) => b.body.includes('outsider') && b.origin === stranger) ? true : undefined));
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.deepEqual((await client.get(`/v1/experiments/${key}/assignments?customerId=outsider`)).body.assignments, []);
      const refused = await client.raw().post(`/api/events/${clientKey}`).set('Origin', stranger).type('text/plain').send(beacons.find((b) => b.body.includes('outsider'))!.body);
      assert.equal(refused.status, 403);
    } finally {
      await context.close();
    }
  });

  it('when the browser has no navigator.sendBeacon, then the batch goes by fetch with keepalive on page hide and is counted the same', async function () {
    this.timeout(60_000);
    const key = await runningExperiment(client, pageExperiment({ key: uniqueKey('snippetfetch'), targeting: { plan: 'pro' }, metrics: { primary: 'cta_click', custom: [{ key: 'cta_click', kind: 'binomial', event: 'cta.click', direction: 'increase' }] } }));
    const customerId = `fetcher-${uniqueKey('c')}`;
    const context = await browser.newContext();
    try {
      const { page: tab, shown } = await openPage(context, pages, key, customerId, '&nobeacon=1');
      await tab.click('#cta');
      await tab.goto('about:blank');
      const beacon = await until('the batch', async () => beacons.find((b) => b.body.includes(customerId)));
      assert.equal(beacon.contentType, 'text/plain', 'sent by fetch (sendBeacon would add ;charset=UTF-8)');
      const counted = await until('the click to be counted', async () => {
        const res = await client.get(`/v1/experiments/${key}/summary`);
        const variant = (res.body.variants as { variant: string; assigned: number; metrics: Record<string, { units: number }> }[]).find((v) => v.variant === shown)!;
        return variant.metrics.cta_click.units > 0 ? variant : undefined;
      });
      assert.deepEqual([counted.assigned, counted.metrics.cta_click.units], [1, 1]);
    } finally {
      await context.close();
    }
  });
});
