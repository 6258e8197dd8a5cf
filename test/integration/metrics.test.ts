// The metric library over HTTP: definitions beside the built-ins, their validation, and the rules that
// keep a definition fixed while an experiment measures with it.
import assert from 'node:assert/strict';
import { metricList, metricView } from '../../src/modules/metrics/metrics.schemas';
import { api, type Api } from '../helpers/app';
import { emailExperiment, runningExperiment, uniqueKey } from '../helpers/factories';

/** A metric key (letters, digits and _ only) unique to this run. */
function metricKey(prefix: string): string {
  return uniqueKey(prefix).replace(/-/g, '_');
}

function reopenRate(key: string) {
  return {
    key,
    name: 'Ticket reopen rate',
    description: 'reopened tickets per resolved ticket',
    kind: 'ratio',
    direction: 'decrease',
    numerator: { event: 'ticket.reopened', value: 'count' },
    denominator: { event: 'ticket.resolved', value: 'count', filter: { 'properties.channel': 'email', 'properties.priority': { $in: ['high', 'urgent'] } } },
    window: { delay: 'PT0S', duration: 'P30D' },
  };
}

/**
 * An experiment that names the metric in metrics.secondary. Experiments accept only built-in and
 * metrics.custom keys so far, so it carries a custom entry of the same key; what the library checks is
 * the key named in primary, secondary or guardrails.
 */
function experimentNaming(key: string) {
  return emailExperiment({ metrics: { primary: 'email_open', secondary: [key], custom: [{ key, kind: 'mean', event: 'ticket.reopened', direction: 'decrease' }] } });
}

describe('metric library', () => {
  let client: Api;
  before(async () => {
    client = await api();
  });

  it('when a ratio metric is created, then it answers 201 with the definition and GET reads it back', async () => {
    const key = metricKey('reopen');
    const created = await client.post('/v1/metrics').send(reopenRate(key)).expect(201);
    const body = metricView.parse(created.body);
    assert.equal(body.builtIn, false);
    assert.equal(body.kind, 'ratio');
    assert.deepEqual(created.body.denominator.filter, { 'properties.channel': 'email', 'properties.priority': { $in: ['high', 'urgent'] } });
    assert.ok(typeof created.body.createdBy === 'string' && created.body.createdBy.length > 0);
    const read = await client.get(`/v1/metrics/${key}`).expect(200);
    assert.deepEqual(read.body, created.body);
  });

  it('when every kind of the docs is created, then each is stored with its defaults', async () => {
    const definitions = [
      { kind: 'proportion', direction: 'decrease', name: '30-day churn', event: 'login', match: 'none', window: { delay: 'P30D', duration: 'P30D' } },
      { kind: 'proportion', direction: 'increase', name: 'Day-7 retention', event: 'login', window: { delay: 'P7D', duration: 'P1D' } },
      { kind: 'mean', direction: 'increase', name: 'LTV', event: 'purchase', value: 'value', capping: { type: 'percentile', value: 0.99 } },
      { kind: 'mean', direction: 'decrease', name: 'Tickets per customer', event: 'ticket.created', value: 'count', capping: { type: 'absolute', value: 20 } },
      { kind: 'quantile', direction: 'decrease', name: 'Median hours to resolution', event: 'ticket.resolved', value: 'properties.hours', quantile: 0.5 },
      { kind: 'survey', direction: 'increase', name: 'CSAT 1-10', scale: { min: 1, max: 10 }, topBox: [9, 10] },
      { kind: 'survey', direction: 'decrease', name: 'CES 1-5', scale: { min: 1, max: 5 } },
    ];
    for (const definition of definitions) {
      const key = metricKey('kind');
      const res = await client.post('/v1/metrics').send({ key, ...definition });
      assert.equal(res.status, 201, `${definition.name}: ${res.status} ${JSON.stringify(res.body)}`);
      metricView.parse(res.body);
    }
    const retention = await client.post('/v1/metrics').send({ key: metricKey('ret'), ...definitions[1] }).expect(201);
    assert.equal(retention.body.match, 'any');
  });

  it('when the metrics are listed, then the built-ins come first with builtIn: true, then the library', async () => {
    const key = metricKey('listed');
    await client.post('/v1/metrics').send(reopenRate(key)).expect(201);
    const res = await client.get('/v1/metrics').expect(200);
    const { metrics } = metricList.parse(res.body);
    const byKey = new Map(metrics.map((m) => [m.key, m]));
    for (const builtIn of ['email_open', 'email_open_human', 'email_click', 'page_view', 'conversion', 'unsubscribe', 'complaint', 'csat', 'nps', 'ces']) {
      assert.equal(byKey.get(builtIn)?.builtIn, true, builtIn);
    }
    assert.deepEqual(res.body.metrics.find((m: { key: string }) => m.key === 'csat'), {
      key: 'csat', name: 'CSAT score', description: 'customer satisfaction, 1-5 (mean; top-2-box = share of 4-5)', direction: 'increase', kind: 'survey', scale: { min: 1, max: 5 }, topBox: [4, 5], builtIn: true,
    });
    assert.equal(byKey.get('nps')?.kind, 'survey');
    assert.deepEqual(res.body.metrics.find((m: { key: string }) => m.key === 'nps').scale, { min: 0, max: 10 });
    assert.equal(res.body.metrics.find((m: { key: string }) => m.key === 'nps').nps, true);
    assert.equal(byKey.get('ces')?.direction, 'decrease');
    assert.deepEqual(res.body.metrics.find((m: { key: string }) => m.key === 'complaint'), {
      key: 'complaint', name: 'Complaint rate', description: 'share of assigned customers who complained (lower is better)', direction: 'decrease', kind: 'proportion', event: 'complaint', match: 'any', builtIn: true,
    });
    assert.equal(byKey.get(key)?.builtIn, false);
    const firstLibrary = metrics.findIndex((m) => !m.builtIn);
    assert.ok(metrics.slice(firstLibrary).every((m) => !m.builtIn), 'built-ins first');
    const library = metrics.slice(firstLibrary).map((m) => m.key);
    assert.deepEqual(library, [...library].sort());
    const builtIn = await client.get('/v1/metrics/ces').expect(200);
    assert.equal(builtIn.body.builtIn, true);
  });

  it('when a key is taken by a library metric or a built-in, then 409 with distinct codes, and nothing changes', async () => {
    const key = metricKey('dup');
    await client.post('/v1/metrics').send(reopenRate(key)).expect(201);
    const duplicate = await client.post('/v1/metrics').send({ ...reopenRate(key), name: 'Other' }).expect(409);
    assert.equal(duplicate.body.error.code, 'metric_exists');
    assert.equal((await client.get(`/v1/metrics/${key}`)).body.name, 'Ticket reopen rate');
    const builtIn = await client.post('/v1/metrics').send({ ...reopenRate('csat') }).expect(409);
    assert.equal(builtIn.body.error.code, 'built_in_metric');
    assert.equal((await client.get('/v1/metrics/csat')).body.kind, 'survey');
    for (const [method, status] of [['patch', 409], ['delete', 409]] as const) {
      const res = await client[method]('/v1/metrics/nps').send({ name: 'Renamed' });
      assert.equal(res.status, status);
      assert.equal(res.body.error.code, 'built_in_metric');
    }
  });

  it('when a definition is invalid, then 400 names the field and nothing is stored', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ ...reopenRate('Bad-Key') }, 'key'],
      [{ ...reopenRate(metricKey('x')), kind: 'median' }, 'kind'],
      [{ ...reopenRate(metricKey('x')), direction: 'up' }, 'direction'],
      [{ ...reopenRate(metricKey('x')), window: { delay: 'seven days' } }, 'window.delay'],
      [{ ...reopenRate(metricKey('x')), window: { duration: 'PT0S' } }, 'window.duration'],
      [{ ...reopenRate(metricKey('x')), window: { duration: 'P1M' } }, 'window.duration'],
      [{ ...reopenRate(metricKey('x')), numerator: { event: 'ticket.reopened', value: 'sum' } }, 'numerator.value'],
      [{ ...reopenRate(metricKey('x')), denominator: { event: 'ticket.resolved', value: 'count', filter: { channel: 'email' } } }, 'denominator.filter.channel'],
      [{ ...reopenRate(metricKey('x')), denominator: { event: 'ticket.resolved', value: 'count', filter: { 'properties.channel': { $regex: 'e' } } } }, 'denominator.filter.properties.channel'],
      [{ key: metricKey('x'), name: 'Q', kind: 'quantile', direction: 'decrease', event: 'ticket.resolved', value: 'value', quantile: 1 }, 'quantile'],
      [{ key: metricKey('x'), name: 'Q', kind: 'quantile', direction: 'decrease', event: 'ticket.resolved', value: 'count', quantile: 0.5 }, 'value'],
      [{ key: metricKey('x'), name: 'M', kind: 'mean', direction: 'increase', event: 'purchase', value: 'value', capping: { type: 'percentile', value: 99 } }, 'capping.value'],
      [{ key: metricKey('x'), name: 'M', kind: 'mean', direction: 'increase', event: 'purchase', value: 'value', match: 'none' }, 'match'],
      [{ key: metricKey('x'), name: 'S', kind: 'survey', direction: 'increase', scale: { min: 5, max: 1 } }, 'scale.max'],
      [{ key: metricKey('x'), name: 'S', kind: 'survey', direction: 'increase', scale: { min: 1, max: 5 }, topBox: [4, 6] }, 'topBox.1'],
      [{ key: metricKey('x'), name: 'S', kind: 'survey', direction: 'increase', scale: { min: 1, max: 5 }, nps: true }, 'nps'],
      [{ key: metricKey('x'), name: ' ', kind: 'survey', direction: 'increase', scale: { min: 1, max: 5 } }, 'name'],
    ];
    for (const [body, field] of cases) {
      const res = await client.post('/v1/metrics').send(body);
      assert.equal(res.status, 400, `${field}: ${res.status} ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, 'validation_failed');
      const paths = (res.body.error.details as { path: string }[]).map((d) => d.path);
      // A field the kind does not have is reported as an unrecognized key of the body, which names it.
      const named = paths.includes(field) || (res.body.error.details as { path: string; message: string }[]).some((d) => d.path === '' && d.message.includes(`"${field}"`));
      assert.ok(named, `${field} among ${JSON.stringify(res.body.error.details)}`);
      if (typeof body.key === 'string' && /^[a-z]/.test(body.key)) assert.equal((await client.get(`/v1/metrics/${body.key}`)).status, 404);
    }
  });

  it('when an unknown metric is read, edited or deleted, then 404; a malformed key is 400', async () => {
    for (const method of ['get', 'patch', 'delete'] as const) {
      const res = await client[method](`/v1/metrics/${metricKey('nope')}`).send({ name: 'x' });
      assert.equal(res.status, 404, method);
      assert.equal(res.body.error.code, 'not_found');
    }
    assert.equal((await client.get('/v1/metrics/Not-A-Key')).status, 400);
  });

  it('when a running experiment uses a metric, then its name and description change but its definition does not (409 naming the experiment), until it stops', async () => {
    const key = metricKey('frozen');
    await client.post('/v1/metrics').send(reopenRate(key)).expect(201);
    const body = experimentNaming(key);
    const experiment = await runningExperiment(client, body);

    const renamed = await client.patch(`/v1/metrics/${key}`).send({ name: 'Reopened per resolved', description: 'support quality' }).expect(200);
    assert.equal(renamed.body.name, 'Reopened per resolved');
    assert.equal(renamed.body.description, 'support quality');
    assert.deepEqual(renamed.body.numerator, reopenRate(key).numerator);
    const removedDescription = await client.patch(`/v1/metrics/${key}`).send({ description: null }).expect(200);
    assert.equal(removedDescription.body.description, undefined);

    const refused = await client.patch(`/v1/metrics/${key}`).send({ window: { duration: 'P7D' } }).expect(409);
    assert.equal(refused.body.error.code, 'metric_in_use');
    assert.deepEqual(refused.body.error.details, { experiments: [{ key: experiment, status: 'running' }] });
    assert.match(refused.body.error.message, new RegExp(experiment));
    assert.equal((await client.get(`/v1/metrics/${key}`)).body.window.duration, 'P30D');

    // The same definition sent again is no change.
    await client.patch(`/v1/metrics/${key}`).send({ window: { delay: 'PT0S', duration: 'P30D' }, direction: 'decrease' }).expect(200);

    await client.post(`/v1/experiments/${experiment}/pause`).expect(200);
    const paused = await client.patch(`/v1/metrics/${key}`).send({ kind: 'mean', event: 'ticket.reopened', value: 'count' }).expect(409);
    assert.deepEqual(paused.body.error.details, { experiments: [{ key: experiment, status: 'paused' }] });

    await client.post(`/v1/experiments/${experiment}/stop`).expect(200);
    const changed = await client.patch(`/v1/metrics/${key}`).send({ window: { duration: 'P7D' } }).expect(200);
    assert.deepEqual(changed.body.window, { duration: 'P7D' });
  });

  it('when an experiment that has run uses a metric, then DELETE is 409 naming it; unused (or used by a draft only), the metric is deleted', async () => {
    const key = metricKey('inuse');
    await client.post('/v1/metrics').send(reopenRate(key)).expect(201);
    const running = await runningExperiment(client, experimentNaming(key));
    const refused = await client.delete(`/v1/metrics/${key}`).expect(409);
    assert.equal(refused.body.error.code, 'metric_in_use');
    assert.deepEqual(refused.body.error.details, { experiments: [{ key: running, status: 'running' }] });
    await client.post(`/v1/experiments/${running}/stop`).expect(200);
    const stopped = await client.delete(`/v1/metrics/${key}`).expect(409);
    assert.deepEqual(stopped.body.error.details, { experiments: [{ key: running, status: 'stopped' }] });
    assert.equal((await client.get(`/v1/metrics/${key}`)).status, 200);

    const free = metricKey('free');
    await client.post('/v1/metrics').send(reopenRate(free)).expect(201);
    await client.post('/v1/experiments').send(experimentNaming(free)).expect(201); // a draft
    const draftEdit = await client.patch(`/v1/metrics/${free}`).send({ window: null }).expect(200);
    assert.equal(draftEdit.body.window, undefined);
    await client.delete(`/v1/metrics/${free}`).expect(204);
    assert.equal((await client.get(`/v1/metrics/${free}`)).status, 404);
    await client.post('/v1/metrics').send(reopenRate(free)).expect(201); // the key is free again
  });

  it('when PATCH changes the kind, then the new kind replaces the definition; a merged definition that is invalid is 400 and stores nothing', async () => {
    const key = metricKey('rekind');
    await client.post('/v1/metrics').send(reopenRate(key)).expect(201);
    const missing = await client.patch(`/v1/metrics/${key}`).send({ kind: 'quantile' }).expect(400);
    const paths = (missing.body.error.details as { path: string }[]).map((d) => d.path);
    assert.ok(paths.includes('event') && paths.includes('quantile'), paths.join(', '));
    const stale = await client.patch(`/v1/metrics/${key}`).send({ quantile: 0.5 }).expect(400); // a ratio has no quantile
    assert.ok((stale.body.error.details as { path: string }[]).some((d) => d.path === '' || d.path === 'quantile'), JSON.stringify(stale.body));
    assert.equal((await client.get(`/v1/metrics/${key}`)).body.kind, 'ratio');
    const quantile = await client.patch(`/v1/metrics/${key}`).send({ kind: 'quantile', event: 'ticket.resolved', value: 'properties.hours', quantile: 0.9 }).expect(200);
    assert.equal(quantile.body.kind, 'quantile');
    assert.equal(quantile.body.numerator, undefined);
    assert.equal(quantile.body.name, 'Ticket reopen rate');
    assert.equal(quantile.body.window, undefined);
    assert.equal((await client.patch(`/v1/metrics/${key}`).send({})).status, 400);
  });

  it('when a viewer key is used, then it lists and reads metrics but cannot define, edit or delete them', async () => {
    const created = await client.post('/v1/api-keys').send({ name: 'metrics viewer', role: 'viewer' }).expect(201);
    const viewer = await api(created.body.key as string);
    try {
      await viewer.get('/v1/metrics').expect(200);
      await viewer.get('/v1/metrics/csat').expect(200);
      const key = metricKey('viewer');
      assert.equal((await viewer.post('/v1/metrics').send(reopenRate(key))).status, 403);
      assert.equal((await client.get(`/v1/metrics/${key}`)).status, 404);
      assert.equal((await viewer.patch('/v1/metrics/csat').send({ name: 'x' })).status, 403);
      assert.equal((await viewer.delete('/v1/metrics/csat')).status, 403);
    } finally {
      await client.delete(`/v1/api-keys/${created.body.id}`);
    }
  });
});
