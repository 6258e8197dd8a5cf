// The analysis ends when the experiment stops: events and answers timestamped after the stop do not
// count, live or in a recompute; those timestamped before it still do when they arrive late.
import assert from 'node:assert/strict';
import { api, type Api } from '../helpers/app';
import { emailExperiment, runningExperiment } from '../helpers/factories';

describe('the end of the analysis', () => {
  let client: Api;
  before(async () => {
    client = await api();
  });

  it('when events arrive after the stop, then those timestamped before it count and those after it do not, and a recompute agrees', async () => {
    const key = await runningExperiment(client, emailExperiment({ metrics: { primary: 'email_open', secondary: ['csat'], guardrails: [] } }));
    const customers = Array.from({ length: 40 }, (_, i) => ({ customerId: `${key}-c${i}` }));
    const assigned = await client.post('/v1/assignments/batch').send({ experiment: key, customers });
    assert.equal(assigned.status, 200);
    // "Before the stop": at the assignment itself (the stop follows within the second).
    const before = new Date(assigned.body.assignments[0].assignedAt as string).toISOString();
    const stopped = await client.post(`/v1/experiments/${key}/stop`);
    assert.equal(stopped.status, 200);
    const stoppedAt = new Date(stopped.body.stoppedAt as string).getTime();

    // Customers 0-9 opened before the stop (reported late), 10-29 after it; answers likewise.
    const events = customers.slice(0, 30).map((c, i) => ({ eventId: `${key}-o${i}`, customerId: c.customerId, name: 'email.open', timestamp: i < 10 ? before : new Date(stoppedAt + 1000).toISOString() }));
    assert.equal((await client.post('/v1/events').send({ events })).status, 202);
    for (const [i, c] of customers.slice(0, 4).entries()) {
      const answer = await client.post('/v1/responses').send({ customerId: c.customerId, experiment: key, metric: 'csat', score: 5, timestamp: i < 2 ? before : new Date(stoppedAt + 1000).toISOString() });
      assert.equal(answer.status, 201, JSON.stringify(answer.body));
    }

    const counted = async () => {
      const results = await client.get(`/v1/experiments/${key}/results`);
      assert.equal(results.status, 200);
      const metric = (name: string) => (results.body.metrics as { metric: string; variants: { units: number; value: number | null; responders?: number }[] }[]).find((m) => m.metric === name)!;
      const opens = metric('email_open').variants.reduce((sum, v) => sum + Math.round((v.value ?? 0) * v.units), 0);
      const answers = metric('csat').variants.reduce((sum, v) => sum + (v.responders ?? v.units), 0);
      return { opens, answers };
    };
    assert.deepEqual(await counted(), { opens: 10, answers: 2 });
    const recomputed = await client.post(`/v1/experiments/${key}/recompute`);
    assert.equal(recomputed.status, 200, JSON.stringify(recomputed.body));
    assert.deepEqual(await counted(), { opens: 10, answers: 2 }, 'a recompute counts by the same rule');
  });
});
