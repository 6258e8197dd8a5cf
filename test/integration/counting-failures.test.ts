// Issue 8, "Counts you can trust": the failures the issue measured, each a test that failed on the old
// code. (The first one, a request failing after storing part of its batch, needs the database killed
// mid-request: test/integration/counting-crash-database.test.ts.)
import assert from 'node:assert/strict';
import { db } from '../../src/db/connection';
import { findByIds } from '../../src/db/find-by-ids';
import { insertEach } from '../../src/db/insert-new';
import { appendRecords, type Stamped } from '../../src/modules/counting';
import { call, countingExperiment, settledSummary, startExperiment } from '../helpers/ingest';
import { serveTestApp } from '../helpers/service-process';

describe('counting: the failures of issue 8', function () {
  this.timeout(60_000);

  for (const bad of ['a.b', '$set']) {
    it(`when one event of a batch has a property key "${bad}", then the call is a 400 naming the field and stores nothing`, async () => {
      const url = await serveTestApp();
      const key = await startExperiment(url);
      await call(url, 'POST', '/v1/assignments/batch', { experiment: key, customers: [{ customerId: `${key}-a` }] });
      const before = await settledSummary(url, key);
      const events = Array.from({ length: 100 }, (_, i) => ({
        eventId: `${key}-e${i}`,
        customerId: `${key}-a`,
        name: 'purchase',
        value: 2,
        experiment: key,
        properties: i === 37 ? { nested: { [bad]: 1 } } : { ok: i },
      }));
      const answer = await call(url, 'POST', '/v1/events', { events });
      assert.equal(answer.status, 400, JSON.stringify(answer.body));
      assert.equal(answer.body.error.code, 'validation_failed');
      assert.ok(answer.body.error.message.includes(`events.37.properties.nested.${bad}`), answer.body.error.message);
      assert.equal(await db().collection('events').countDocuments({ experiment: key }), 0, 'no event of the call is stored');
      assert.deepEqual((await settledSummary(url, key)).variants, before.variants);
      // Fixed and sent again, every event is new and counted once.
      const fixed = await call(url, 'POST', '/v1/events', { events: events.map((e) => ({ ...e, properties: { ok: 1 } })) });
      assert.deepEqual(fixed.body, { accepted: 100, duplicates: 0 });
      const spend = (await settledSummary(url, key)).variants.map((v) => v.metrics.spend).reduce((sum, m) => sum + m.sum, 0);
      assert.equal(spend, 200);
    });
  }

  it('when 8 clients POST .../start at once, then exactly one gets 200 and the others 409', async () => {
    const url = await serveTestApp();
    const body = countingExperiment();
    const created = await call(url, 'POST', '/v1/experiments', body);
    assert.equal(created.status, 201);
    const answers = await Promise.all(Array.from({ length: 8 }, () => call(url, 'POST', `/v1/experiments/${body.key}/start`)));
    const statuses = answers.map((a) => a.status).sort();
    assert.deepEqual(statuses, [200, 409, 409, 409, 409, 409, 409, 409], JSON.stringify(answers.map((a) => a.body)));
    const history = await call(url, 'GET', `/v1/experiments/${body.key}/history`);
    assert.equal(history.status, 200);
    const starts = (history.body.history as { action: string }[]).filter((h) => h.action === 'start');
    assert.equal(starts.length, 1, `one start in the history: ${JSON.stringify(history.body.history)}`);
    assert.equal((await call(url, 'GET', `/v1/experiments/${body.key}`)).body.status, 'running');
  });

  it('when the driver retries an insert whose answer was lost, then the records it stored are not reported as duplicates and are counted once', async () => {
    const url = await serveTestApp();
    const key = await startExperiment(url);
    await call(url, 'POST', '/v1/assignments/batch', { experiment: key, customers: [{ customerId: `${key}-a` }] });
    const now = new Date();
    const records = Array.from({ length: 5 }, (_, i) => ({ _id: `${key}-r${i}`, customerId: `${key}-a`, name: 'purchase', value: 3, experiment: key, timestamp: now, receivedAt: now }));
    const events = db().collection<Stamped<(typeof records)[number]>>('events');
    // The first attempt stores the records but its answer is lost; the retry finds them all stored.
    const insertAndRetry = async (stamped: Stamped<(typeof records)[number]>[]) => {
      await insertEach(events, stamped);
      return insertEach(events, stamped);
    };
    const duplicates = await appendRecords('events', records, insertAndRetry, (ids) => findByIds(events, ids));
    assert.deepEqual([...duplicates], [], 'none of them existed before this request');
    const summary = await settledSummary(url, key);
    const spend = summary.variants.reduce((sum, v) => sum + (v.metrics.spend?.sum ?? 0), 0);
    assert.equal(spend, 15, 'each of the 5 purchases counted once');
  });
});
