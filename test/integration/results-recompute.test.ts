import assert from 'node:assert/strict';
import { api, type Api } from '../helpers/app';
import { emailExperiment, eventId, runningExperiment, uniqueKey } from '../helpers/factories';
import { assignCustomers, eventsAtRates, respond, sendEvents, type EventSpec } from './results.helpers';

interface Summary { variants: { variant: string; assigned: number; metrics: Record<string, { units: number; sum: number; sumSquares: number; histogram?: Record<string, number> }> }[] }

/** The summary without its timestamp and with zero histogram entries dropped (replaced answers leave them). */
function normalise(summary: Summary & { generatedAt?: string; asOf?: string }) {
  // When an answer was made is not what is compared: what it counts is.
  const { generatedAt: _generatedAt, asOf: _asOf, ...rest } = summary;
  return {
    ...rest,
    variants: rest.variants.map((v) => ({
      ...v,
      metrics: Object.fromEntries(
        Object.entries(v.metrics).map(([metric, m]) => {
          const histogram = Object.fromEntries(Object.entries(m.histogram ?? {}).filter(([, count]) => count !== 0));
          const { histogram: _h, ...numbers } = m;
          return [metric, Object.keys(histogram).length > 0 ? { ...numbers, histogram } : numbers];
        }),
      ),
    })),
  };
}

describe('results: recompute', () => {
  let client: Api;
  before(async () => {
    client = await api();
  });

  it('when a mixed load with retries, duplicates, early events and replaced answers is recomputed, then summary and results are unchanged', async () => {
    const key = await runningExperiment(
      client,
      emailExperiment({
        metrics: {
          primary: 'email_open',
          secondary: ['email_click', 'spend', 'csat', 'nps'],
          guardrails: ['unsubscribe'],
          custom: [{ key: 'spend', kind: 'mean', event: 'purchase', direction: 'increase' }],
        },
        analysis: { minSamplePerVariant: 10 },
      }),
    );

    // Events that arrive before their customer is assigned must never count.
    const early = Array.from({ length: 10 }, (_, i) => `${key}-early-${i}`);
    await sendEvents(client, key, early.map((customerId) => ({ customerId, name: 'email.open' })));

    const batch = await assignCustomers(client, key, 120);
    const lateAssigned = await assignCustomers(client, key, 10, `${key}-early`);
    assert.equal(lateAssigned.length, 10);
    const singles: string[] = [];
    for (let i = 0; i < 20; i++) {
      const response = await client.post('/v1/assignments').send({ experiment: key, customerId: `${key}-single-${i}` });
      assert.equal(response.status, 200);
      singles.push(response.body.customerId);
    }
    // A repeated single assignment is sticky and adds nobody.
    assert.equal((await client.post('/v1/assignments').send({ experiment: key, customerId: singles[0] })).body.reason, 'sticky');

    const opens = eventsAtRates(batch, 'email.open', { control: 0.3, friendly: 0.5 }).map((e) => ({ ...e, eventId: eventId() }));
    await sendEvents(client, key, opens);
    // Retried delivery of the same events, and duplicates inside one call.
    await sendEvents(client, key, opens.slice(0, 30));
    const clicks = eventsAtRates(batch, 'email.click', { control: 0.1, friendly: 0.2 }).map((e) => ({ ...e, eventId: eventId() }));
    await sendEvents(client, key, [...clicks, ...clicks.slice(0, 5)]);
    // Opens of every early customer a second time, now after assignment: these count once each.
    await sendEvents(client, key, early.map((customerId) => ({ customerId, name: 'email.open' })));
    // Singles: opens timestamped before their assignment do not count, later ones do.
    const past = new Date(Date.now() - 3_600_000).toISOString();
    await sendEvents(client, key, [
      ...singles.map((customerId) => ({ customerId, name: 'email.open', timestamp: past })),
      ...singles.slice(0, 8).map((customerId) => ({ customerId, name: 'unsubscribe' })),
    ]);
    // Custom mean values spread over several calls (binary-exact, so sums do not depend on order).
    const buyers = batch.filter((c) => c.rank % 3 === 0);
    const purchases: EventSpec[] = buyers.map((c) => ({ customerId: c.id, name: 'purchase', value: c.variant === 'friendly' ? 12.5 : 7.25, eventId: eventId() }));
    await sendEvents(client, key, purchases);
    await sendEvents(client, key, buyers.slice(0, 15).map((c) => ({ customerId: c.id, name: 'purchase', value: 30 })));
    await sendEvents(client, key, purchases.slice(0, 10)); // retried
    await sendEvents(client, key, buyers.slice(0, 5).map((c) => ({ customerId: c.id, name: 'purchase', value: -2.5 }))); // refunds

    // Survey answers: a first answer, a later one replacing it, an older one arriving late (ignored), a retry.
    const t = (minutes: number) => new Date(Date.now() + minutes * 60_000).toISOString();
    const answering = batch.filter((c) => c.rank % 2 === 0).slice(0, 30);
    for (const c of answering) {
      await respond(client, key, { customerId: c.id, metric: 'csat', score: 2, timestamp: t(1), responseId: `${c.id}-csat-1` });
      await respond(client, key, { customerId: c.id, metric: 'nps', score: c.variant === 'friendly' ? 9 : 6, timestamp: t(1) });
    }
    for (const c of answering.slice(0, 15)) {
      await respond(client, key, { customerId: c.id, metric: 'csat', score: c.variant === 'friendly' ? 5 : 4, timestamp: t(5), responseId: `${c.id}-csat-2` });
      await respond(client, key, { customerId: c.id, metric: 'csat', score: 1, timestamp: t(0), responseId: `${c.id}-csat-0` });
    }
    const retried = await respond(client, key, { customerId: answering[0].id, metric: 'csat', score: 2, timestamp: t(1), responseId: `${answering[0].id}-csat-1` });
    assert.equal(retried.duplicate, true);

    const summaryBefore = (await client.get(`/v1/experiments/${key}/summary`)).body as Summary;
    const resultsBefore = (await client.get(`/v1/experiments/${key}/results`)).body;

    // The live counts are what the load should give (so the comparison below is not between two wrong numbers).
    const assigned = summaryBefore.variants.reduce((sum, v) => sum + v.assigned, 0);
    assert.equal(assigned, 150);
    const openUnits = summaryBefore.variants.reduce((sum, v) => sum + v.metrics.email_open.units, 0);
    assert.equal(openUnits, opens.length + early.length, 'retries, early events and back-dated opens are not counted');
    const csatHistogram: Record<string, number> = {};
    for (const v of summaryBefore.variants) for (const [score, count] of Object.entries(v.metrics.csat.histogram ?? {})) csatHistogram[score] = (csatHistogram[score] ?? 0) + count;
    assert.equal(csatHistogram['1'] ?? 0, 0, 'an older answer arriving late never replaces a newer one');
    assert.equal(csatHistogram['2'], 15);
    assert.equal((csatHistogram['4'] ?? 0) + (csatHistogram['5'] ?? 0), 15);
    const spendSum = summaryBefore.variants.reduce((sum, v) => sum + v.metrics.spend.sum, 0);
    const expectedSpend = purchases.reduce((s, p) => s + p.value!, 0) + 15 * 30 - 5 * 2.5;
    assert.equal(spendSum, expectedSpend);

    const response = await client.post(`/v1/experiments/${key}/recompute`);
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.equal(response.body.recomputed.assigned, 150);
    assert.ok(response.body.recomputed.units > 0);
    assert.ok(response.body.recomputed.aggregates > 0);

    const summaryAfter = (await client.get(`/v1/experiments/${key}/summary`)).body as Summary;
    assert.deepEqual(normalise(summaryAfter), normalise(summaryBefore));
    const { generatedAt: _a, asOf: _a2, ...before } = resultsBefore;
    const { generatedAt: _b, asOf: _b2, ...fromRecompute } = response.body.results;
    assert.deepEqual(fromRecompute, before);
    const { generatedAt: _c, asOf: _c2, ...after } = (await client.get(`/v1/experiments/${key}/results`)).body;
    assert.deepEqual(after, before);
  });

  it('when the experiment is unknown, then recompute answers 404', async () => {
    const response = await client.post(`/v1/experiments/${uniqueKey('nope')}/recompute`);
    assert.equal(response.status, 404);
  });
});
