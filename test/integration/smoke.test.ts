import assert from 'node:assert/strict';
import { api } from '../helpers/app';
import { emailExperiment, eventId, runningExperiment } from '../helpers/factories';

describe('smoke', () => {
  it('when an experiment runs, then assignment, events, responses and summary work end to end', async () => {
    const client = await api();
    const key = await runningExperiment(client, emailExperiment());
    const assigned = await client.post('/v1/assignments').send({ experiment: key, customerId: 'c1' });
    assert.equal(assigned.status, 200, JSON.stringify(assigned.body));
    const again = await client.post('/v1/assignments').send({ experiment: key, customerId: 'c1' });
    assert.equal(again.body.reason, 'sticky');
    const ev = await client.post('/v1/events').send({ events: [{ eventId: eventId(), customerId: 'c1', name: 'email.open' }] });
    assert.equal(ev.status, 202, JSON.stringify(ev.body));
    const resp = await client.post('/v1/responses').send({ customerId: 'c1', metric: 'csat', score: 4 });
    assert.equal(resp.status, 201, JSON.stringify(resp.body));
    const summary = await client.get(`/v1/experiments/${key}/summary`);
    assert.equal(summary.status, 200);
    const variant = summary.body.variants.find((v: { variant: string }) => v.variant === assigned.body.variant);
    assert.equal(variant.assigned, 1);
    assert.equal(variant.metrics.email_open.units, 1);
    assert.equal(variant.metrics.csat.units, 1);
    assert.deepEqual(variant.metrics.csat.histogram, { '4': 1 });
  });
});
