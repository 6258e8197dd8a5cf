import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import type { Response as SupertestResponse } from 'supertest';
import { signToken, type TrackingPayload } from '../../src/modules/tracking';
import { api, type Api } from '../helpers/app';
import { browserAgainst } from '../helpers/browser';
import { emailExperiment, runningExperiment, uniqueKey } from '../helpers/factories';


/** helmet's headers on every answer, as src/app.ts configures them. */
const HELMET_HEADERS: Record<string, string | RegExp> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'strict-transport-security': /^max-age=\d+; includeSubDomains$/,
  'cross-origin-opener-policy': 'same-origin',
  'origin-agent-cluster': '?1',
  'x-dns-prefetch-control': 'off',
  'x-download-options': 'noopen',
  'x-permitted-cross-domain-policies': 'none',
  'x-xss-protection': '0',
};

/** The one Content-Security-Policy: what the self-contained pages need (inline <style>, same-origin forms) and nothing more. */
const POLICY = {
  'default-src': ["'none'"],
  'style-src': ["'unsafe-inline'"],
  'form-action': ["'self'"],
  'base-uri': ["'none'"],
  'frame-ancestors': ["'none'"],
};

function directives(policy: string | undefined): Record<string, string[]> {
  assert.ok(policy, 'a Content-Security-Policy header');
  const parsed: Record<string, string[]> = {};
  for (const directive of policy.split(';').map((d) => d.trim()).filter(Boolean)) {
    const [name, ...values] = directive.split(/\s+/);
    assert.ok(!(name in parsed), `directive ${name} once`);
    parsed[name] = values;
  }
  return parsed;
}

function assertSecurityHeaders(res: SupertestResponse, what: string, resourcePolicy = 'same-origin'): void {
  for (const [name, expected] of Object.entries(HELMET_HEADERS)) {
    const value = res.headers[name];
    if (typeof expected === 'string') assert.equal(value, expected, `${what}: ${name}`);
    else assert.match(value ?? '', expected, `${what}: ${name}`);
  }
  assert.equal(res.headers['cross-origin-resource-policy'], resourcePolicy, `${what}: cross-origin-resource-policy`);
  assert.deepEqual(directives(res.headers['content-security-policy']), POLICY, `${what}: content-security-policy`);
  assert.equal(res.headers['x-powered-by'], undefined, `${what}: no x-powered-by`);
}

describe('security headers (helmet)', () => {
  let client: Api;
  let link: Omit<TrackingPayload, 'purpose'>;

  before(async () => {
    client = await api();
    const experiment = await runningExperiment(client, emailExperiment({ metrics: { primary: 'email_open', secondary: ['csat'], guardrails: ['unsubscribe'] } }));
    const customerId = uniqueKey('cust');
    const assigned = await client.post('/v1/assignments').send({ experiment, customerId });
    assert.equal(assigned.status, 200, JSON.stringify(assigned.body));
    link = { messageId: uniqueKey('msg'), customerId, experiment, variant: assigned.body.variant };
  });

  it('when the API answers (a success, a refusal, an error, a probe), then every answer carries the security headers and the strict policy', async () => {
    const answers: [string, SupertestResponse, number][] = [
      ['GET /v1/experiments', await client.get('/v1/experiments'), 200],
      ['GET /v1/experiments without a key', await client.raw().get('/v1/experiments'), 401],
      ['GET /v1/no-such-thing', await client.get('/v1/no-such-thing'), 404],
      ['GET /healthz', await client.raw().get('/healthz'), 200],
    ];
    for (const [what, res, status] of answers) {
      assert.equal(res.status, status, what);
      assert.match(res.headers['content-type'], /^application\/json/, what);
      assertSecurityHeaders(res, what);
    }
  });

  it('when a public HTML page is served (unsubscribe, survey thank-you, invalid link, report not found), then it carries the same headers, one policy and its own caching rules', async () => {
    const pages: [string, SupertestResponse, number][] = [
      ['unsubscribe page', await client.raw().get(`/u/${signToken({ ...link, purpose: 'unsubscribe' })}`), 200],
      ['survey thank-you page', await client.raw().get(`/s/${signToken({ ...link, purpose: 'survey', target: 'csat' })}?score=4`), 200],
      ['invalid survey link', await client.raw().get('/s/not-a-token'), 404],
      ['report not found', await client.raw().get(`/reports/${link.experiment}?token=1.${'A'.repeat(43)}`), 404],
    ];
    for (const [what, res, status] of pages) {
      assert.equal(res.status, status, what);
      assert.match(res.headers['content-type'], /^text\/html/, what);
      assertSecurityHeaders(res, what);
      // What the pages set themselves stays: the token in the URL is not cached or indexed.
      assert.equal(res.headers['cache-control'], 'no-store', what);
      assert.equal(res.headers['x-robots-tag'], 'noindex, nofollow', what);
      // Nothing the policy forbids is on the page.
      assert.ok(!/<script|\s(src|href)=|<link|url\(/i.test(res.text), `${what}: no script, no fetched resource`);
    }
  });

  it('when the open pixel is served, then other origins may embed it (Cross-Origin-Resource-Policy: cross-origin), with the other headers unchanged', async () => {
    const res = await client.raw().get(`/t/o/${signToken({ ...link, purpose: 'open' })}`);
    assert.equal(res.status, 200);
    assert.match(res.headers['content-type'], /^image\/gif/);
    assertSecurityHeaders(res, 'open pixel', 'cross-origin');
  });

  describe('in a real browser', () => {
    let browser: Browser;
    let base: string;

    before(async function () {
      this.timeout(60_000);
      ({ browser, base } = await browserAgainst(client.app));
    });

    it('when the survey and unsubscribe pages are used in Chromium, then under helmet\'s policy their styles apply, their forms post and no violation is reported', async () => {
      const context = await browser.newContext();
      const violations: string[] = [];
      try {
        const page = await context.newPage();
        page.on('console', (message) => {
          if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
        });

        const survey = await page.goto(`${base}/s/${signToken({ ...link, purpose: 'survey', target: 'csat' })}?score=5`);
        assert.equal(survey?.status(), 200);
        assert.equal(survey?.headers()['cross-origin-opener-policy'], 'same-origin');
        assert.equal(survey?.headers()['x-frame-options'], 'DENY');
        // The inline <style> applied: the page is a 32rem column.
        assert.equal(await page.evaluate('getComputedStyle(document.body).maxWidth'), '512px');
        await page.locator('#comment').fill('Quick and friendly');
        const [commented] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST', { timeout: 10_000 }), page.locator('button[type="submit"]').click()]);
        assert.equal(commented.status(), 200);
        await page.waitForLoadState();
        assert.match(await page.locator('body').innerText(), /Your comment has been recorded/);

        const unsubscribe = await page.goto(`${base}/u/${signToken({ ...link, purpose: 'unsubscribe' })}`);
        assert.equal(unsubscribe?.status(), 200);
        const [unsubscribed] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST', { timeout: 10_000 }), page.locator('button[type="submit"]').click()]);
        assert.equal(unsubscribed.status(), 200);
        await page.waitForLoadState();
        assert.match(await page.locator('h1').innerText(), /You have been unsubscribed/);
        assert.deepEqual(violations, []);
      } finally {
        await context.close();
      }
    });
  });
});
