import assert from 'node:assert/strict';
import { parse } from 'csv-parse/sync';
import { api, type Api } from '../helpers/app';
import { emailExperiment, runningExperiment, uniqueKey } from '../helpers/factories';

interface Answer {
  responseId: string;
  customerId: string;
  variant: string;
  metric: string;
  score: number;
  comment?: string;
  at: string;
}

describe('survey answers and comments', () => {
  let client: Api;
  let viewer: Api;
  let key: string;
  /** The customers of each variant, assigned by hash. */
  const customers: Record<string, string[]> = { control: [], friendly: [] };
  // Set when the answers are made (in before), not when mocha loads this file: in a full run the file
  // runs minutes after it is loaded, and answers timed before their customers' assignments are not the experiment's.
  let base = 0;
  let seconds = 0;
  /** An answer a second after the previous one. */
  const at = () => new Date(base + 1000 * seconds++).toISOString();

  async function answer(customerId: string, metric: string, score: number, comment?: string, extra: Record<string, unknown> = {}) {
    const res = await client.post('/v1/responses').send({ customerId, metric, score, timestamp: at(), ...(comment !== undefined ? { comment } : {}), ...extra });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body.responseId as string;
  }

  before(async () => {
    base = Date.now() + 60_000;
    client = await api();
    const created = await client.post('/v1/api-keys').send({ name: 'comments viewer', role: 'viewer' });
    viewer = await api(created.body.key);
    key = await runningExperiment(client, emailExperiment({ metrics: { primary: 'email_open', secondary: ['csat', 'nps'], guardrails: [] } }));
    // 80 customers: with 40, about one run in 150 left a variant below the 12 the answers need.
    const batch = await client.post('/v1/assignments/batch').send({ experiment: key, customers: Array.from({ length: 80 }, () => ({ customerId: uniqueKey('cust') })) });
    assert.equal(batch.status, 200, JSON.stringify(batch.body));
    for (const a of batch.body.assignments as { customerId: string; variant: string }[]) customers[a.variant].push(a.customerId);
    assert.ok(customers.control.length >= 12 && customers.friendly.length >= 12, JSON.stringify(customers));
    // Control's customers complain about slow delivery, friendly's praise the helpful staff.
    for (const [i, c] of customers.control.slice(0, 12).entries()) await answer(c, 'csat', 1 + (i % 3), i % 4 === 3 ? undefined : 'Delivery was slow and the parcel arrived late');
    for (const [i, c] of customers.friendly.slice(0, 12).entries()) await answer(c, 'csat', 3 + (i % 3), i % 4 === 3 ? undefined : 'The staff were friendly and so helpful');
    await answer(customers.control[0], 'nps', 9);
  });

  async function list(query: string, as: Api = viewer): Promise<{ responses: Answer[]; nextCursor?: string }> {
    const res = await as.get(`/v1/experiments/${key}/responses${query}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body;
  }

  async function all(query: string): Promise<Answer[]> {
    const found: Answer[] = [];
    let cursor: string | undefined;
    do {
      const page = await list(`${query}${query ? '&' : '?'}limit=200${cursor ? `&cursor=${cursor}` : ''}`);
      found.push(...page.responses);
      cursor = page.nextCursor;
    } while (cursor);
    return found;
  }

  describe('GET /v1/experiments/:key/responses', () => {
    it('when a viewer lists the answers, then each has its variant, newest first', async () => {
      const { responses } = await list('');
      assert.equal(responses.length, 25);
      assert.equal(responses[0].metric, 'nps');
      assert.equal(responses[0].variant, 'control');
      for (let i = 1; i < responses.length; i++) assert.ok(responses[i - 1].at > responses[i].at);
      for (const r of responses) assert.ok(customers[r.variant].includes(r.customerId));
    });

    it("when thousands of newer answers belong to other customers, then the experiment's answers still fill the first page", async function () {
      this.timeout(120_000);
      // Answers of customers not in this experiment, later than all of its own: a listing that read the
      // answers of every experiment newest first would spend its page budget on these and answer empty.
      const later = Date.now() + 3_600_000;
      for (let i = 0; i < 2100; i += 50) {
        await Promise.all(
          Array.from({ length: 50 }, (_, j) => client.post('/v1/responses').send({ customerId: uniqueKey('stranger'), metric: 'csat', score: 3, timestamp: new Date(later + (i + j) * 1000).toISOString() }).expect(201)),
        );
      }
      const { responses } = await list('');
      assert.equal(responses.length, 25);
    });

    it('when filtered by metric, variant, score range, comment and time, then only the matching answers come', async () => {
      const csat = await all('?metric=csat');
      assert.equal(csat.length, 24);
      const friendly = await all('?variant=friendly');
      assert.ok(friendly.length === 12 && friendly.every((r) => r.variant === 'friendly'));
      const low = await all('?minScore=2&maxScore=3');
      assert.ok(low.length > 0 && low.every((r) => r.score >= 2 && r.score <= 3));
      assert.equal(low.length, (await all('')).filter((r) => r.score >= 2 && r.score <= 3).length);
      const commented = await all('?hasComment=true');
      assert.equal(commented.length, 18);
      assert.ok(commented.every((r) => typeof r.comment === 'string'));
      const silent = await all('?hasComment=false&metric=csat');
      assert.ok(silent.length === 6 && silent.every((r) => r.comment === undefined));
      const everything = await all('');
      const since = everything[4].at;
      const recent = await all(`?since=${encodeURIComponent(since)}`);
      assert.deepEqual(recent.map((r) => r.responseId), everything.slice(0, 5).map((r) => r.responseId));
    });

    it('when the pages are followed by their cursors, then every answer comes once, in the same order as one page', async () => {
      const whole = (await list('?limit=200')).responses.map((r) => r.responseId);
      const paged: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await list(`?limit=4${cursor ? `&cursor=${cursor}` : ''}`);
        assert.ok(page.responses.length <= 4);
        paged.push(...page.responses.map((r) => r.responseId));
        cursor = page.nextCursor;
        pages++;
      } while (cursor && pages < 20);
      assert.deepEqual(paged, whole);
    });

    it('when an answer names another experiment or its customer was not assigned, then it is not listed', async () => {
      const other = await runningExperiment(client, emailExperiment({ metrics: { primary: 'email_open', secondary: ['csat'], guardrails: [] } }));
      await client.post('/v1/assignments').send({ experiment: other, customerId: customers.control[1] }).expect(200);
      const elsewhere = await answer(customers.control[1], 'csat', 5, 'for the other one', { experiment: other });
      const stranger = await answer(uniqueKey('nobody'), 'csat', 5, 'not in the test');
      const ids = (await all('')).map((r) => r.responseId);
      assert.ok(!ids.includes(elsewhere) && !ids.includes(stranger));
      assert.equal(ids.length, 25);
    });

    it('when a filter, the limit or the cursor is not valid, then 400 names it; an unknown experiment is 404', async () => {
      for (const [query, field] of [
        ['?cursor=bm90LWEtY3Vyc29y', 'cursor'],
        ['?limit=1000', 'limit'],
        ['?minScore=5&maxScore=2', 'minScore'],
        ['?metric=happiness', 'metric'],
        ['?hasComment=yes', 'hasComment'],
        ['?since=yesterday', 'since'],
        ['?colour=red', 'colour'],
      ]) {
        const res = await viewer.get(`/v1/experiments/${key}/responses${query}`);
        assert.equal(res.status, 400, query);
        assert.equal(res.body.error.code, 'validation_failed');
        assert.match(JSON.stringify(res.body.error), new RegExp(field), query);
      }
      assert.equal((await viewer.get('/v1/experiments/no-such-thing/responses')).status, 404);
      assert.equal((await viewer.get('/v1/experiments/no-such-thing/responses.csv')).status, 404);
      assert.equal((await viewer.get('/v1/experiments/no-such-thing/responses/themes')).status, 404);
    });

    it('when an ingest key asks, then it may not read the comments', async () => {
      const created = await client.post('/v1/api-keys').send({ name: 'ingest only', role: 'ingest' });
      const ingest = await api(created.body.key);
      assert.equal((await ingest.get(`/v1/experiments/${key}/responses`)).status, 403);
    });
  });

  describe('GET /v1/experiments/:key/responses.csv', () => {
    it('when exported with the same filters, then the rows are the list, and a comment starting like a formula is quoted out', async () => {
      const c = customers.friendly[13] ?? customers.friendly[0];
      const formula = await answer(c, 'nps', 2, '=HYPERLINK("https://evil.example","click"), really');
      const res = await viewer.get(`/v1/experiments/${key}/responses.csv?metric=nps`);
      assert.equal(res.status, 200);
      assert.match(res.headers['content-type'], /text\/csv/);
      assert.match(res.headers['content-disposition'], new RegExp(`${key}-responses.csv`));
      const rows = parse<Record<string, string>>(res.text, { columns: true });
      assert.deepEqual(Object.keys(rows[0]), ['responseId', 'at', 'customerId', 'variant', 'metric', 'score', 'comment']);
      assert.deepEqual(rows.map((r) => r.responseId), (await all('?metric=nps')).map((r) => r.responseId));
      const row = rows.find((r) => r.responseId === formula)!;
      assert.equal(row.comment, `'=HYPERLINK("https://evil.example","click"), really`);
      assert.equal(row.score, '2');
      const none = await viewer.get(`/v1/experiments/${key}/responses.csv?minScore=10&metric=csat`);
      assert.equal(none.status, 200);
      assert.equal(none.text.trim(), 'responseId,at,customerId,variant,metric,score,comment');
    });
  });

  describe('GET /v1/experiments/:key/responses/themes', () => {
    it("when each variant's comments say something else, then the themes list each variant's own words first, with z-scores", async () => {
      const res = await viewer.get(`/v1/experiments/${key}/responses/themes?top=5`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.match(res.body.method, /Monroe/);
      const csat = res.body.metrics.find((m: { metric: string }) => m.metric === 'csat');
      assert.equal(csat.comments, 18);
      const control = csat.variants.find((v: { variant: string }) => v.variant === 'control');
      const friendly = csat.variants.find((v: { variant: string }) => v.variant === 'friendly');
      assert.ok(control.terms.length <= 5 && control.terms.length > 0);
      const controlTerms = control.terms.map((t: { term: string }) => t.term);
      assert.ok(controlTerms.some((t: string) => ['slow', 'late', 'delivery', 'parcel', 'arrived', 'delivery slow', 'parcel arrived', 'arrived late'].includes(t)), controlTerms.join());
      assert.ok(!controlTerms.includes('friendly') && !controlTerms.includes('helpful'));
      const friendlyTerms = friendly.terms.map((t: { term: string }) => t.term);
      assert.ok(friendlyTerms.some((t: string) => ['staff', 'friendly', 'helpful', 'staff friendly', 'friendly helpful'].includes(t)), friendlyTerms.join());
      assert.ok(friendly.terms[0].z > 1.96);
      assert.equal(friendly.terms[0].otherCount, 0);
    });

    it('when a survey metric has no comments, then it is left out', async () => {
      const res = await viewer.get(`/v1/experiments/${key}/responses/themes?metric=csat`);
      assert.deepEqual(res.body.metrics.map((m: { metric: string }) => m.metric), ['csat']);
      const bare = await runningExperiment(client, emailExperiment({ metrics: { primary: 'email_open', secondary: ['ces'], guardrails: [] } }));
      const empty = await viewer.get(`/v1/experiments/${bare}/responses/themes`);
      assert.equal(empty.status, 200);
      assert.deepEqual(empty.body.metrics, []);
    });
  });

  describe('the HTML report', () => {
    it('when the report is opened, then each survey variant shows its latest 20 comments escaped and newest first, its themes, and a link to all of them', async () => {
      // More than 20 comments for control, the newest of them markup.
      for (let i = 0; i < 21; i++) await answer(customers.control[i % customers.control.length], 'csat', 2, `Late again, parcel number ${i}`);
      const markup = await answer(customers.control[2], 'csat', 1, '<script>alert(1)</script> slow & late');
      const shared = await client.post(`/v1/experiments/${key}/share`).send({});
      assert.equal(shared.status, 201, JSON.stringify(shared.body));
      const url = new URL(shared.body.url);
      const page = await client.raw().get(`${url.pathname}${url.search}`);
      assert.equal(page.status, 200);
      assert.doesNotMatch(page.text, /<script>alert/);
      assert.match(page.text, /&lt;script&gt;alert\(1\)&lt;\/script&gt; slow &amp; late/);
      const section = (variant: string) => new RegExp(`<div class="comments" data-variant="${variant}">([\\s\\S]*?)</div>`).exec(page.text)![1];
      const control = section('control');
      const items = [...control.matchAll(/<li>([\s\S]*?)<\/li>/g)].map((m) => m[1]);
      const commentedControl = (await all('?metric=csat&variant=control&hasComment=true'));
      assert.equal(items.length, Math.min(20, commentedControl.length), `${items.length} of ${commentedControl.length}`);
      assert.ok(commentedControl.length > 20, String(commentedControl.length));
      assert.match(items[0], /&lt;script&gt;/, 'the newest first');
      assert.match(control, /Themes: .*(slow|late|parcel|delivery)/);
      assert.match(section('friendly'), /Themes: .*(staff|friendly|helpful)/);
      assert.ok(markup);

      // The link to the full list works with the same share link, page after page.
      const link = /<a href="([^"]+)">All comments of control<\/a>/.exec(control)![1].replace(/&amp;/g, '&').replace(/&#x3D;/g, '=');
      const seen: string[] = [];
      let next: string | undefined = link;
      while (next) {
        const list = await client.raw().get(next);
        assert.equal(list.status, 200);
        seen.push(...[...list.text.matchAll(/<li>[\s\S]*?<\/li>/g)].map((m) => m[0]));
        next = /<a href="([^"]+)" rel="next">/.exec(list.text)?.[1].replace(/&amp;/g, '&').replace(/&#x3D;/g, '=');
      }
      assert.equal(seen.length, commentedControl.length);
      const forged = await client.raw().get(link.replace(/token=[^&]+/, 'token=forged'));
      assert.equal(forged.status, 404);
    });
  });
});
