// GET /docs: Swagger UI from swagger-ui-dist, served by the service itself, under a Content-Security-Policy
// of its own (scripts, styles, images and requests from this origin only); every other answer keeps the
// strict policy of src/app.ts. In Chromium, a key authorized in the page makes a call that answers 200.
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { api, type Api } from '../helpers/app';
import { browserAgainst } from '../helpers/browser';

function directives(policy: string | undefined): Record<string, string[]> {
  assert.ok(policy, 'a Content-Security-Policy header');
  return Object.fromEntries(
    policy
      .split(';')
      .map((d) => d.trim())
      .filter(Boolean)
      .map((d) => {
        const [name, ...values] = d.split(/\s+/);
        return [name, values];
      }),
  );
}

const DOCS_POLICY = {
  'default-src': ["'none'"],
  'script-src': ["'self'"],
  'style-src': ["'self'"],
  'img-src': ["'self'", 'data:', 'blob:'],
  'connect-src': ["'self'"],
  'form-action': ["'none'"],
  'base-uri': ["'none'"],
  'frame-ancestors': ["'none'"],
};
const STRICT_POLICY = {
  'default-src': ["'none'"],
  'style-src': ["'unsafe-inline'"],
  'form-action': ["'self'"],
  'base-uri': ["'none'"],
  'frame-ancestors': ["'none'"],
};

const CONTENT_TYPES: [RegExp, RegExp][] = [
  [/\.css$/, /^text\/css/],
  [/\.js$/, /^(text|application)\/javascript/],
  [/\.png$/, /^image\/png$/],
];

describe('interactive reference (GET /docs)', () => {
  let client: Api;

  before(async () => {
    client = await api();
  });

  it('when the page is read, then it and every file it loads answer 200 from /docs with their content types, no inline script, under the policy of /docs', async () => {
    const page = await client.raw().get('/docs');
    assert.equal(page.status, 200);
    assert.match(page.headers['content-type'], /^text\/html/);
    assert.deepEqual(directives(page.headers['content-security-policy']), DOCS_POLICY);
    assert.equal(page.headers['x-frame-options'], 'DENY');
    const html = page.text;
    // Every script is a file (the policy allows no inline script): none has a body.
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    assert.ok(scripts.length >= 2);
    for (const [, attributes, body] of scripts) {
      assert.match(attributes, /\ssrc="\/docs\//);
      assert.equal(body.trim(), '');
    }
    assert.doesNotMatch(html, /\sstyle=|<style/);
    const files = [...html.matchAll(/(?:src|href)="(\/docs\/[^"]+)"/g)].map((m) => m[1]);
    assert.ok(files.some((f) => f.endsWith('swagger-ui-bundle.js')) && files.some((f) => f.endsWith('swagger-ui.css')), files.join(', '));
    for (const file of files) {
      const res = await client.raw().get(file);
      assert.equal(res.status, 200, file);
      const expected = CONTENT_TYPES.find(([pattern]) => pattern.test(file));
      assert.ok(expected, `a content type for ${file}`);
      assert.match(res.headers['content-type'], expected[1], file);
      assert.equal(res.headers['x-content-type-options'], 'nosniff', file);
      assert.ok(Number(res.headers['content-length'] ?? (res.body as Buffer).length) > 0, file);
    }
    // The initializer points Swagger UI at this service's document, nowhere else.
    const initializer = await client.raw().get(files.find((f) => f.endsWith('verdict-docs.js'))!);
    assert.match(initializer.text, /url: '\/openapi\.json'/);
    assert.doesNotMatch(initializer.text, /https?:\/\//);
  });

  it("when other files of swagger-ui-dist or other methods are asked under /docs, then 404: its Petstore page and initializer are not served", async () => {
    for (const file of ['/docs/index.html', '/docs/swagger-initializer.js', '/docs/swagger-ui-bundle.js.map', '/docs/package.json', '/docs/../package.json', '/docs/nothing.js']) {
      const res = await client.raw().get(file);
      assert.equal(res.status, 404, file);
      assert.match(res.headers['content-type'], /^application\/json/, file);
    }
    assert.equal((await client.raw().post('/docs/swagger-ui-bundle.js')).status, 404);
  });

  it('when the document, the probes, the API and the other pages answer, then they keep the strict policy of src/app.ts', async () => {
    for (const [url, res] of [
      ['/openapi.json', await client.raw().get('/openapi.json')],
      ['/healthz', await client.raw().get('/healthz')],
      ['/v1/experiments', await client.get('/v1/experiments')],
      ['/reports/x?token=y', await client.raw().get('/reports/some-key?token=forged')],
      ['/docsx', await client.raw().get('/docsx')],
    ] as const) {
      assert.deepEqual(directives(res.headers['content-security-policy']), STRICT_POLICY, url);
    }
  });

  describe('in Chromium', function () {
    this.timeout(120_000);
    let browser: Browser;
    let base: string;

    before(async () => {
      ({ browser, base } = await browserAgainst(client.app));
    });

    it('when a marketer opens /docs, authorizes with their key and tries GET /v1/experiments, then every operation shows, the call carries the key and answers 200, an image answer shows, nothing is fetched elsewhere and no policy is violated', async () => {
      const viewer = await client.post('/v1/api-keys').send({ name: 'docs marketer', role: 'viewer' });
      assert.equal(viewer.status, 201, JSON.stringify(viewer.body));
      const operationCount = Object.values((await client.raw().get('/openapi.json')).body.paths as Record<string, object>).reduce((n, methods) => n + Object.keys(methods).length, 0);

      const context = await browser.newContext();
      const problems: string[] = [];
      const elsewhere: string[] = [];
      let authorization: string | undefined;
      try {
        const page = await context.newPage();
        page.on('console', (message) => {
          if (message.type() === 'error' || /Content Security Policy/i.test(message.text())) problems.push(message.text());
        });
        page.on('pageerror', (error) => problems.push(error.message));
        page.on('request', (request) => {
          if (!request.url().startsWith(base) && !request.url().startsWith('data:') && !request.url().startsWith('blob:')) elsewhere.push(request.url());
          if (new URL(request.url()).pathname === '/v1/experiments') authorization = request.headers().authorization;
        });

        const opened = await page.goto(`${base}/docs`);
        assert.equal(opened?.status(), 200);
        await page.locator('.opblock').first().waitFor({ timeout: 30_000 });
        assert.equal(await page.locator('.opblock').count(), operationCount);
        assert.match(await page.locator('.info .title').innerText(), /Verdict API/);

        await page.locator('.auth-wrapper button.authorize').click();
        await page.locator('.auth-container input').first().fill(viewer.body.key as string);
        await page.locator('.auth-btn-wrapper button.authorize').click();
        await page.locator('.auth-btn-wrapper button.btn-done').click();

        const operation = page.locator('.opblock-get').filter({ has: page.locator('.opblock-summary-path[data-path="/v1/experiments"]') });
        await operation.locator('.opblock-summary').click();
        await operation.locator('button.try-out__btn').click();
        await operation.locator('button.execute').click();
        const status = operation.locator('.live-responses-table tr.response .response-col_status').first();
        await status.waitFor({ timeout: 30_000 });
        assert.equal((await status.innerText()).trim(), '200');
        assert.equal(authorization, `Bearer ${viewer.body.key}`);
        assert.match(await operation.locator('.live-responses-table tr.response .response-col_description').first().innerText(), /"experiments"/);

        // An image answer (the open pixel) is shown from a blob: URL, which the policy allows for images.
        const pixel = page.locator('.opblock-get').filter({ has: page.locator('.opblock-summary-path[data-path="/t/o/{token}"]') });
        await pixel.locator('.opblock-summary').click();
        await pixel.locator('button.try-out__btn').click();
        await pixel.locator('input[placeholder="token"]').fill('any-token');
        await pixel.locator('button.execute').click();
        const shown = pixel.locator('.live-responses-table tr.response .response-col_description img');
        await shown.waitFor({ timeout: 30_000 });
        assert.match((await shown.getAttribute('src')) ?? '', /^blob:/);
        assert.equal(await shown.evaluate((img: { naturalWidth: number }) => img.naturalWidth), 1);
      } finally {
        await context.close();
      }
      assert.deepEqual(elsewhere, [], 'requests to other origins');
      assert.deepEqual(problems, [], 'console errors and policy violations');
    });
  });
});
