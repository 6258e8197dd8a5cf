import assert from 'node:assert/strict';
import { db } from '../../src/db/connection';
import { api, type Api } from '../helpers/app';
import { emailExperiment, eventId, runningExperiment, uniqueKey } from '../helpers/factories';

interface MetricAggregate {
  units: number;
  sum: number;
  sumSquares: number;
  histogram?: Record<string, number>;
}
interface VariantSummary {
  variant: string;
  assigned: number;
  metrics: Record<string, MetricAggregate>;
}

async function summary(client: Api, key: string): Promise<{ experiment: string; status: string; generatedAt: string; variants: VariantSummary[] }> {
  const res = await client.get(`/v1/experiments/${key}/summary`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body;
}

/** The summary entry of the variant a customer was assigned to. */
async function metricOf(client: Api, key: string, variant: string, metric: string): Promise<MetricAggregate> {
  const s = await summary(client, key);
  return s.variants.find((v) => v.variant === variant)!.metrics[metric];
}

async function assign(client: Api, experiment: string, customerId: string, forceVariant = 'control'): Promise<string> {
  const res = await client.post('/v1/assignments').send({ experiment, customerId, forceVariant });
  assert.equal(res.status, 200);
  return res.body.variant;
}

async function eventStored(id: string): Promise<boolean> {
  return (await db().collection<{ _id: string }>('events').findOne({ _id: id })) !== null;
}

describe('events, responses and summary', () => {
  let client: Api;
  before(async () => {
    client = await api();
  });

  describe('POST /v1/events', () => {
    it('when events arrive for an assigned customer, then 202 {accepted, duplicates} and the summary counts the customer once per metric', async () => {
      const key = await runningExperiment(client, emailExperiment());
      await assign(client, key, 'e1');
      const res = await client.post('/v1/events').send({
        events: [
          { eventId: eventId(), customerId: 'e1', name: 'email.open' },
          { eventId: eventId(), customerId: 'e1', name: 'email.open' },
          { eventId: eventId(), customerId: 'e1', name: 'email.click', properties: { link: 'cta' } },
          { eventId: eventId(), customerId: 'not-assigned', name: 'email.open' },
        ],
      });
      assert.equal(res.status, 202);
      assert.deepEqual(res.body, { accepted: 4, duplicates: 0 });
      const s = await summary(client, key);
      const control = s.variants.find((v) => v.variant === 'control')!;
      assert.equal(control.assigned, 1);
      assert.equal(control.metrics.email_open.units, 1, 'two opens by one customer are one unit');
      assert.equal(control.metrics.email_click.units, 1);
      assert.equal(control.metrics.unsubscribe.units, 0);
    });

    it('when an event is retried in a later call, then it is a duplicate and counted once', async () => {
      const key = await runningExperiment(client, emailExperiment({ metrics: { primary: 'spend', custom: [{ key: 'spend', kind: 'mean', event: 'purchase', direction: 'increase' }] } }));
      await assign(client, key, 'r1');
      const event = { eventId: eventId(), customerId: 'r1', name: 'purchase', value: 10 };
      assert.deepEqual((await client.post('/v1/events').send({ events: [event] })).body, { accepted: 1, duplicates: 0 });
      const retry = await client.post('/v1/events').send({ events: [event, { ...event, eventId: eventId(), value: 5 }] });
      assert.equal(retry.status, 202);
      assert.deepEqual(retry.body, { accepted: 1, duplicates: 1 });
      assert.deepEqual(await metricOf(client, key, 'control', 'spend'), { units: 1, sum: 15, sumSquares: 225 });
    });

    it('when the same eventId appears twice in one call, then it is stored and counted once', async () => {
      const key = await runningExperiment(client, emailExperiment({ metrics: { primary: 'spend', custom: [{ key: 'spend', kind: 'mean', event: 'purchase', direction: 'increase' }] } }));
      await assign(client, key, 'w1');
      const id = eventId();
      const res = await client.post('/v1/events').send({ events: [{ eventId: id, customerId: 'w1', name: 'purchase', value: 7 }, { eventId: id, customerId: 'w1', name: 'purchase', value: 7 }] });
      assert.deepEqual(res.body, { accepted: 1, duplicates: 1 });
      assert.deepEqual(await metricOf(client, key, 'control', 'spend'), { units: 1, sum: 7, sumSquares: 49 });
    });

    it('when an event happened before the customer was assigned, then it does not count', async () => {
      const key = await runningExperiment(client, emailExperiment());
      await assign(client, key, 'early');
      const before = new Date(Date.now() - 60 * 60 * 1000).toISOString();
      const res = await client.post('/v1/events').send({ events: [{ eventId: eventId(), customerId: 'early', name: 'email.open', timestamp: before }] });
      assert.deepEqual(res.body, { accepted: 1, duplicates: 0 }, 'it is stored all the same');
      assert.equal((await metricOf(client, key, 'control', 'email_open')).units, 0);
      await client.post('/v1/events').send({ events: [{ eventId: eventId(), customerId: 'early', name: 'email.open' }] });
      assert.equal((await metricOf(client, key, 'control', 'email_open')).units, 1, 'a later event does count');
    });

    it('when an event names an experiment, then it counts only there', async () => {
      const a = await runningExperiment(client, emailExperiment());
      const b = await runningExperiment(client, emailExperiment());
      await assign(client, a, 'both');
      await assign(client, b, 'both');
      await client.post('/v1/events').send({ events: [{ eventId: eventId(), customerId: 'both', name: 'email.click', experiment: a }] });
      assert.equal((await metricOf(client, a, 'control', 'email_click')).units, 1);
      assert.equal((await metricOf(client, b, 'control', 'email_click')).units, 0);
      await client.post('/v1/events').send({ events: [{ eventId: eventId(), customerId: 'both', name: 'email.open' }] });
      assert.equal((await metricOf(client, a, 'control', 'email_open')).units, 1, 'an event naming no experiment counts in every one');
      assert.equal((await metricOf(client, b, 'control', 'email_open')).units, 1);
    });

    it('when a custom mean metric gets values, then sum and sumSquares are over per-customer totals, exactly', async () => {
      const key = await runningExperiment(
        client,
        emailExperiment({ metrics: { primary: 'email_open', secondary: ['revenue', 'bought'], custom: [{ key: 'revenue', kind: 'mean', event: 'purchase', direction: 'increase' }, { key: 'bought', kind: 'binomial', event: 'purchase', direction: 'increase' }] } }),
      );
      await assign(client, key, 'm1');
      await assign(client, key, 'm2');
      await assign(client, key, 'm3', 'friendly');
      await client.post('/v1/events').send({
        events: [
          { eventId: eventId(), customerId: 'm1', name: 'purchase', value: 2.5 },
          { eventId: eventId(), customerId: 'm1', name: 'purchase', value: 0.5 },
          { eventId: eventId(), customerId: 'm2', name: 'purchase', value: 4 },
          { eventId: eventId(), customerId: 'm3', name: 'purchase', value: 10 },
        ],
      });
      // A later call adds to m1's total: (3 + 1)^2 replaces 3^2 in the sum of squares.
      await client.post('/v1/events').send({ events: [{ eventId: eventId(), customerId: 'm1', name: 'purchase', value: 1 }] });
      assert.deepEqual(await metricOf(client, key, 'control', 'revenue'), { units: 2, sum: 8, sumSquares: 32 });
      assert.deepEqual(await metricOf(client, key, 'friendly', 'revenue'), { units: 1, sum: 10, sumSquares: 100 });
      assert.deepEqual(await metricOf(client, key, 'control', 'bought'), { units: 2, sum: 2, sumSquares: 2 });
    });

    it('when 5,001 events are sent, then 400 names events and nothing is stored', async () => {
      const prefix = uniqueKey('many');
      const events = Array.from({ length: 5001 }, (_, i) => ({ eventId: `${prefix}-${i}`, customerId: 'c', name: 'email.open' }));
      const res = await client.post('/v1/events').send({ events });
      assert.equal(res.status, 400);
      assert.ok(res.body.error.details.some((d: { path: string }) => d.path === 'events'));
      assert.equal(await eventStored(`${prefix}-0`), false);
      assert.equal(await eventStored(`${prefix}-5000`), false);
    });

    it('when one event of a batch is invalid, then 400 names events.N.field and nothing is stored', async () => {
      const key = await runningExperiment(client, emailExperiment());
      await assign(client, key, 'v1');
      const good = eventId();
      const cases: [Record<string, unknown>, string][] = [
        [{ eventId: eventId(), customerId: 'v1' }, 'events.1.name'],
        [{ eventId: eventId(), customerId: 'v1', name: 'email.open', value: 'ten' }, 'events.1.value'],
        [{ eventId: eventId(), customerId: 'v1', name: 'email.open', timestamp: 'yesterday' }, 'events.1.timestamp'],
        [{ eventId: '', customerId: 'v1', name: 'email.open' }, 'events.1.eventId'],
        [{ eventId: eventId(), customerId: 'v1', name: 'email.open', experiment: 'Not A Key' }, 'events.1.experiment'],
      ];
      for (const [bad, path] of cases) {
        const res = await client.post('/v1/events').send({ events: [{ eventId: good, customerId: 'v1', name: 'email.open' }, bad] });
        assert.equal(res.status, 400, path);
        assert.ok(res.body.error.details.some((d: { path: string }) => d.path === path), `${path} in ${JSON.stringify(res.body.error.details)}`);
      }
      assert.equal(await eventStored(good), false);
      assert.equal((await metricOf(client, key, 'control', 'email_open')).units, 0);
    });

    it('when the body has no events, then 400', async () => {
      assert.equal((await client.post('/v1/events').send({ events: [] })).status, 400);
      assert.equal((await client.post('/v1/events').send({})).status, 400);
    });
  });

  describe('POST /v1/responses', () => {
    const outOfScale: [string, number][] = [
      ['csat', 0],
      ['csat', 6],
      ['csat', 4.5],
      ['nps', -1],
      ['nps', 11],
      ['ces', 0],
      ['ces', 8],
    ];
    for (const [metric, score] of outOfScale) {
      it(`when a ${metric} score of ${score} is sent, then 400 names score and nothing is stored`, async () => {
        const responseId = uniqueKey('resp');
        const res = await client.post('/v1/responses').send({ responseId, customerId: 'sc', metric, score });
        assert.equal(res.status, 400);
        assert.ok(res.body.error.details.some((d: { path: string }) => d.path === 'score'));
        assert.equal(await db().collection<{ _id: string }>('responses').findOne({ _id: responseId }), null);
      });
    }

    it('when scores at the ends of each scale are sent, then they are accepted', async () => {
      for (const [metric, score] of [['csat', 1], ['csat', 5], ['nps', 0], ['nps', 10], ['ces', 1], ['ces', 7]] as const) {
        const res = await client.post('/v1/responses').send({ customerId: 'edge', metric, score });
        assert.equal(res.status, 201, `${metric} ${score}`);
      }
    });

    it('when a customer answers again later, then the later answer replaces the earlier one in the histogram', async () => {
      const key = await runningExperiment(client, emailExperiment({ metrics: { primary: 'csat' } }));
      await assign(client, key, 'a1');
      await assign(client, key, 'a2');
      const t0 = Date.now();
      await client.post('/v1/responses').send({ customerId: 'a1', metric: 'csat', score: 2, timestamp: new Date(t0 + 1000).toISOString() });
      await client.post('/v1/responses').send({ customerId: 'a2', metric: 'csat', score: 4, timestamp: new Date(t0 + 1000).toISOString() });
      assert.deepEqual(await metricOf(client, key, 'control', 'csat'), { units: 2, sum: 6, sumSquares: 20, histogram: { '2': 1, '4': 1 } });
      const later = await client.post('/v1/responses').send({ customerId: 'a1', metric: 'csat', score: 5, timestamp: new Date(t0 + 5000).toISOString() });
      assert.equal(later.status, 201);
      assert.deepEqual(await metricOf(client, key, 'control', 'csat'), { units: 2, sum: 9, sumSquares: 41, histogram: { '4': 1, '5': 1 } });
    });

    it('when an older answer arrives late, then it does not replace the newer one', async () => {
      const key = await runningExperiment(client, emailExperiment({ metrics: { primary: 'nps' } }));
      await assign(client, key, 'late');
      const t0 = Date.now();
      await client.post('/v1/responses').send({ customerId: 'late', metric: 'nps', score: 9, timestamp: new Date(t0 + 10_000).toISOString() });
      const old = await client.post('/v1/responses').send({ customerId: 'late', metric: 'nps', score: 3, timestamp: new Date(t0 + 2_000).toISOString() });
      assert.equal(old.status, 201, 'the answer is kept in history');
      assert.deepEqual(await metricOf(client, key, 'control', 'nps'), { units: 1, sum: 9, sumSquares: 81, histogram: { '9': 1 } });
    });

    it('when a responseId is retried, then 200 duplicate and it is counted once', async () => {
      const key = await runningExperiment(client, emailExperiment({ metrics: { primary: 'ces' } }));
      await assign(client, key, 'dup');
      const body = { responseId: uniqueKey('resp'), customerId: 'dup', metric: 'ces', score: 3 };
      const first = await client.post('/v1/responses').send(body);
      assert.equal(first.status, 201);
      assert.equal(first.body.duplicate, false);
      assert.equal(first.body.responseId, body.responseId);
      assert.equal(first.body.countedIn, 1);
      const again = await client.post('/v1/responses').send(body);
      assert.equal(again.status, 200);
      assert.equal(again.body.duplicate, true);
      assert.deepEqual(await metricOf(client, key, 'control', 'ces'), { units: 1, sum: 3, sumSquares: 9, histogram: { '3': 1 } });
    });

    it('when a response names an unknown experiment, then 404 and nothing is stored', async () => {
      const responseId = uniqueKey('resp');
      const res = await client.post('/v1/responses').send({ responseId, customerId: 'x', metric: 'csat', score: 3, experiment: uniqueKey('missing') });
      assert.equal(res.status, 404);
      assert.equal(await db().collection<{ _id: string }>('responses').findOne({ _id: responseId }), null);
    });

    it('when the metric is not a survey metric, then 400 names metric', async () => {
      const res = await client.post('/v1/responses').send({ customerId: 'x', metric: 'email_open', score: 1 });
      assert.equal(res.status, 400);
      assert.ok(res.body.error.details.some((d: { path: string }) => d.path === 'metric'));
    });
  });

  describe('GET /v1/experiments/:key/summary', () => {
    it('when read, then every variant lists assigned customers and every declared metric, with histograms only for surveys', async () => {
      const key = await runningExperiment(client, emailExperiment({ metrics: { primary: 'email_open', secondary: ['nps'], guardrails: ['complaint'] } }));
      await assign(client, key, 's1');
      await assign(client, key, 's2', 'friendly');
      await client.post('/v1/events').send({ events: [{ eventId: eventId(), customerId: 's1', name: 'email.open' }] });
      await client.post('/v1/responses').send({ customerId: 's2', metric: 'nps', score: 10, experiment: key });
      const s = await summary(client, key);
      assert.equal(s.experiment, key);
      assert.equal(s.status, 'running');
      assert.ok(!Number.isNaN(Date.parse(s.generatedAt)));
      assert.deepEqual(s.variants.map((v) => v.variant), ['control', 'friendly']);
      assert.deepEqual(s.variants[0], {
        variant: 'control',
        assigned: 1,
        metrics: { email_open: { units: 1, sum: 1, sumSquares: 1 }, nps: { units: 0, sum: 0, sumSquares: 0 }, complaint: { units: 0, sum: 0, sumSquares: 0 } },
      });
      assert.deepEqual(s.variants[1], {
        variant: 'friendly',
        assigned: 1,
        metrics: { email_open: { units: 0, sum: 0, sumSquares: 0 }, nps: { units: 1, sum: 10, sumSquares: 100, histogram: { '10': 1 } }, complaint: { units: 0, sum: 0, sumSquares: 0 } },
      });
    });

    it('when the experiment is unknown, then 404', async () => {
      assert.equal((await client.get(`/v1/experiments/${uniqueKey('missing')}/summary`)).status, 404);
    });
  });
});
