// Issue 8, "Counts you can trust": read your writes. GET summary and results count everything
// acknowledged before the read began, without the client sleeping; ?stale=ok answers at once and says
// how fresh it is.
import assert from 'node:assert/strict';
import { call, countIndependently, countsOfSummary, startExperiment, VARIANTS, type EventSpec, type Summary } from '../helpers/ingest';
import { serveTestApp } from '../helpers/service-process';
import { connectTestDatabase } from '../helpers/app';
import { countingRepository, readFreshness, type RebuildRequestRecord } from '../../src/modules/counting';

describe('counting: read your writes', function () {
  this.timeout(60_000);

  it('when events are acknowledged, then GET summary and GET results at once count them (complete: true)', async () => {
    const url = await serveTestApp();
    const key = await startExperiment(url);
    const customers = Array.from({ length: 300 }, (_, i) => ({ customerId: `${key}-c${i}` }));
    const assignedAnswer = await call(url, 'POST', '/v1/assignments/batch', { experiment: key, customers });
    assert.equal(assignedAnswer.status, 200);
    const assigned = new Map<string, string>((assignedAnswer.body.assignments as { customerId: string; variant: string }[]).map((a) => [a.customerId, a.variant]));
    const events: EventSpec[] = [];
    for (let round = 0; round < 5; round++) {
      const batch: EventSpec[] = customers.slice(round * 60, round * 60 + 60).flatMap((c, i) => [
        { eventId: `${key}-o${round}-${i}`, customerId: c.customerId, name: 'email.open' as const, experiment: key },
        ...(i % 2 === 0 ? [{ eventId: `${key}-p${round}-${i}`, customerId: c.customerId, name: 'purchase' as const, value: 1.5 + (i % 7), experiment: key }] : []),
        ...(i % 3 === 0 ? [{ eventId: `${key}-c${round}-${i}`, customerId: c.customerId, name: 'email.click' as const, experiment: key }] : []),
      ]);
      const sent = await call(url, 'POST', '/v1/events', { events: batch });
      assert.equal(sent.status, 202, JSON.stringify(sent.body));
      const acknowledgedAt = Date.now();
      events.push(...batch);
      const expected = countIndependently(VARIANTS, assigned, events, []);

      // At once, no sleeping: the read waits for the aggregator to count what was acknowledged.
      const summary = await call(url, 'GET', `/v1/experiments/${key}/summary`);
      assert.equal(summary.status, 200);
      assert.equal(summary.body.complete, true, JSON.stringify(summary.body).slice(0, 300));
      assert.equal(summary.body.pending, 0);
      assert.ok(Date.parse(summary.body.asOf) >= acknowledgedAt, 'asOf is not before the acknowledgement');
      assert.deepEqual(countsOfSummary(summary.body as Summary), expected, `round ${round}: the summary counts every acknowledged event`);

      const results = await call(url, 'GET', `/v1/experiments/${key}/results`);
      assert.equal(results.status, 200);
      assert.equal(results.body.complete, true);
      const open = (results.body.metrics as { metric: string; variants: { variant: string; units: number; value: number }[] }[]).find((m) => m.metric === 'email_open')!;
      for (const v of open.variants) {
        assert.equal(v.units, expected[v.variant].assigned);
        assert.equal(Math.round(v.value * v.units), expected[v.variant].email_open, `results: ${v.variant} opens`);
      }
    }
  });

  it('when ?stale=ok is asked right after a write, then it answers with asOf, pending and complete', async () => {
    const url = await serveTestApp();
    const key = await startExperiment(url);
    await call(url, 'POST', '/v1/assignments/batch', { experiment: key, customers: [{ customerId: `${key}-a` }, { customerId: `${key}-b` }] });
    const sent = await call(url, 'POST', '/v1/events', { events: [{ eventId: `${key}-e1`, customerId: `${key}-a`, name: 'email.open', experiment: key }] });
    assert.equal(sent.status, 202);
    for (const route of [`/v1/experiments/${key}/summary?stale=ok`, `/v1/experiments/${key}/results?stale=ok`]) {
      const answer = await call(url, 'GET', route);
      assert.equal(answer.status, 200, route);
      assert.ok(!Number.isNaN(Date.parse(answer.body.asOf)), `${route}: asOf is a time`);
      assert.ok(Number.isInteger(answer.body.pending) && answer.body.pending >= 0, `${route}: pending is a count`);
      assert.equal(typeof answer.body.complete, 'boolean', route);
      if (answer.body.complete) assert.equal(answer.body.pending, 0, `${route}: complete means nothing pending`);
    }
  });

  it('when a rebuild of the experiment is pending, then a read waits for it and, until it has run, says complete: false', async () => {
    await connectTestDatabase();
    // The rebuild request the start of a CUPED experiment stores, held pending for a while: the
    // aggregator of this run would otherwise run it too quickly to see the wait.
    const key = `rebuild-fence-${Date.now()}`;
    let pendingUntil = Date.now() + 400;
    const readRebuild = countingRepository.readRebuild.bind(countingRepository);
    countingRepository.readRebuild = async (experiment: string): Promise<RebuildRequestRecord | null> => {
      if (experiment !== key) return readRebuild(experiment);
      const base = { _id: `rebuild:${key}`, experiment: key, requestId: 'held', requestedAt: new Date(0) };
      return Date.now() < pendingUntil ? { ...base, status: 'pending' } : { ...base, status: 'done', doneAt: new Date() };
    };
    try {
      const started = Date.now();
      const waited = await readFreshness({ experiment: key });
      assert.equal(waited.complete, true, 'complete once the rebuild has run');
      assert.ok(Date.now() - started >= 300, 'the read waited for the pending rebuild');

      pendingUntil = Date.now() + 60_000;
      const stale = await readFreshness({ experiment: key, stale: true });
      assert.equal(stale.complete, false, '?stale=ok during a pending rebuild is not complete');
      const timedOut = await readFreshness({ experiment: key, waitMs: 200 });
      assert.equal(timedOut.complete, false, 'a read that stopped waiting for the rebuild is not complete');
      // Another experiment's rebuild is not this read's business.
      assert.equal((await readFreshness({ experiment: `${key}-other`, stale: true })).complete, true);
    } finally {
      countingRepository.readRebuild = readRebuild;
    }
  });
});
