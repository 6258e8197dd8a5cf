// Experiments that ran elsewhere: started with a past startedAt, their assignments imported with their
// own times, then analysed from events with past timestamps like any other experiment.
import assert from 'node:assert/strict';
import { db } from '../../src/db/connection';
import { api, type Api } from '../helpers/app';
import { emailExperiment, uniqueKey } from '../helpers/factories';

const DAY = 86_400_000;

async function createdExperiment(client: Api): Promise<string> {
  const body = emailExperiment({ key: uniqueKey('import') });
  const created = await client.post('/v1/experiments').send(body);
  assert.equal(created.status, 201, JSON.stringify(created.body));
  return body.key;
}

async function stored(key: string): Promise<number> {
  return db().collection('assignments').countDocuments({ experiment: key });
}

describe('experiments that ran elsewhere', () => {
  let client: Api;
  before(async () => {
    client = await api();
  });

  it('when an experiment is started with startedAt in the past, then it keeps that time; in the future, then 400 names the field and it stays a draft', async () => {
    const key = await createdExperiment(client);
    const future = await client.post(`/v1/experiments/${key}/start`).send({ startedAt: new Date(Date.now() + DAY).toISOString() });
    assert.equal(future.status, 400);
    assert.match(future.body.error.message, /^startedAt: /);
    assert.equal((await client.get(`/v1/experiments/${key}`)).body.status, 'draft');

    const startedAt = new Date(Date.now() - 30 * DAY).toISOString();
    const started = await client.post(`/v1/experiments/${key}/start`).send({ startedAt });
    assert.equal(started.status, 200, JSON.stringify(started.body));
    assert.equal(started.body.status, 'running');
    assert.equal(new Date(started.body.startedAt as string).toISOString(), startedAt);
  });

  it('when assignments are imported before the start, then 409 and nothing is stored', async () => {
    const key = await createdExperiment(client);
    const response = await client.post(`/v1/experiments/${key}/assignments/import`).send({ assignments: [{ customerId: 'a', variant: 'control', assignedAt: new Date().toISOString() }] });
    assert.equal(response.status, 409);
    assert.equal(await stored(key), 0);
  });

  it('when one row names an unknown variant, a time before the start or in the future, then 400 names that row and nothing of the call is stored', async () => {
    const key = await createdExperiment(client);
    const startedAt = Date.now() - 10 * DAY;
    assert.equal((await client.post(`/v1/experiments/${key}/start`).send({ startedAt: new Date(startedAt).toISOString() })).status, 200);
    const good = Array.from({ length: 20 }, (_, i) => ({ customerId: `c${i}`, variant: i % 2 ? 'control' : 'friendly', assignedAt: new Date(startedAt + DAY).toISOString() }));
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ customerId: 'bad', variant: 'nope', assignedAt: new Date(startedAt + DAY).toISOString() }, /^assignments\.7\.variant: /],
      [{ customerId: 'bad', variant: 'control', assignedAt: new Date(startedAt - DAY).toISOString() }, /^assignments\.7\.assignedAt: before/],
      [{ customerId: 'bad', variant: 'control', assignedAt: new Date(Date.now() + DAY).toISOString() }, /^assignments\.7\.assignedAt: in the future/],
      [{ customerId: 'bad', variant: 'control', assignedAt: 'yesterday' }, /^assignments\.7\.assignedAt: /],
    ];
    for (const [row, message] of cases) {
      const rows = [...good.slice(0, 7), row, ...good.slice(7)];
      const response = await client.post(`/v1/experiments/${key}/assignments/import`).send({ assignments: rows });
      assert.equal(response.status, 400, JSON.stringify(response.body));
      assert.match(response.body.error.message, message);
      assert.equal(await stored(key), 0, 'nothing of a rejected call is stored');
    }
  });

  it('when assignments are imported twice (a retry) and a customer was assigned before, then each is stored once, the first assignment kept, and the repeats are reported as duplicates', async () => {
    const key = await createdExperiment(client);
    const startedAt = Date.now() - 5 * DAY;
    assert.equal((await client.post(`/v1/experiments/${key}/start`).send({ startedAt: new Date(startedAt).toISOString() })).status, 200);
    const live = await client.post('/v1/assignments').send({ experiment: key, customerId: 'early' });
    const liveVariant = live.body.variant as string;
    const other = liveVariant === 'control' ? 'friendly' : 'control';
    const rows = [
      { customerId: 'early', variant: other, assignedAt: new Date(startedAt + DAY).toISOString() },
      ...Array.from({ length: 50 }, (_, i) => ({ customerId: `r${i}`, variant: 'friendly', assignedAt: new Date(startedAt + 2 * DAY).toISOString() })),
    ];
    const first = await client.post(`/v1/experiments/${key}/assignments/import`).send({ assignments: rows });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.deepEqual(first.body, { imported: 50, duplicates: ['early'] });
    const retry = await client.post(`/v1/experiments/${key}/assignments/import`).send({ assignments: rows });
    assert.equal(retry.body.imported, 0);
    assert.equal(retry.body.duplicates.length, 51);
    assert.equal(await stored(key), 51);
    const early = await client.get(`/v1/customers/early/assignments`);
    assert.equal(early.body.assignments.find((a: { experiment: string }) => a.experiment === key).variant, liveVariant, 'the first assignment is kept');
  });

  it('when assignments are imported across past days and events with past timestamps follow, then the counts, the cohorts and the results are those of the imported data', async () => {
    const key = await createdExperiment(client);
    const startedAt = Date.now() - 20 * DAY;
    assert.equal((await client.post(`/v1/experiments/${key}/start`).send({ startedAt: new Date(startedAt).toISOString() })).status, 200);
    // 200 customers over days 1..4 after the start; friendly opens 3 in 4, control 1 in 4.
    const rows = Array.from({ length: 200 }, (_, i) => ({ customerId: `h${i}`, variant: i % 2 === 0 ? 'friendly' : 'control', assignedAt: new Date(startedAt + (1 + (i % 4)) * DAY).toISOString() }));
    const imported = await client.post(`/v1/experiments/${key}/assignments/import`).send({ assignments: rows });
    assert.equal(imported.body.imported, 200);
    const opened = rows.filter((r, i) => (r.variant === 'friendly' ? i % 8 !== 0 : i % 8 === 1));
    const events = opened.map((r) => ({ eventId: `${key}-${r.customerId}`, customerId: r.customerId, name: 'email.open', timestamp: new Date(new Date(r.assignedAt).getTime() + 3_600_000).toISOString() }));
    // One event before its customer's (imported) assignment: not counted.
    events.push({ eventId: `${key}-before`, customerId: 'h2', name: 'email.click', timestamp: new Date(startedAt).toISOString() });
    assert.equal((await client.post('/v1/events').send({ events })).status, 202);

    const summary = await client.get(`/v1/experiments/${key}/summary`);
    assert.equal(summary.status, 200);
    const byVariant = Object.fromEntries(summary.body.variants.map((v: { variant: string; assigned: number }) => [v.variant, v.assigned]));
    assert.deepEqual(byVariant, { control: 100, friendly: 100 });

    const results = await client.get(`/v1/experiments/${key}/results`);
    assert.equal(results.status, 200);
    interface Estimate { variant: string; units: number; value: number | null }
    const metric = (key: string) => (results.body.metrics as { metric: string; variants: Estimate[] }[]).find((m) => m.metric === key)!;
    const converted = (key: string, variant: string) => {
      const estimate = metric(key).variants.find((v) => v.variant === variant)!;
      assert.equal(estimate.units, 100, 'over the imported customers');
      return Math.round((estimate.value ?? 0) * estimate.units);
    };
    for (const variant of ['friendly', 'control']) assert.equal(converted('email_open', variant), opened.filter((r) => r.variant === variant).length);
    assert.equal(converted('email_click', 'friendly') + converted('email_click', 'control'), 0, 'the event before its assignment is not counted');

    const series = await client.get(`/v1/experiments/${key}/results/timeseries`);
    assert.equal(series.status, 200);
    const days = series.body.points.map((p: { date: string }) => p.date);
    for (let d = 1; d <= 4; d++) assert.ok(days.includes(new Date(startedAt + d * DAY).toISOString().slice(0, 10)), `a point for the imported day ${d}`);
  });

  it('when an ingest key imports, then 403 and nothing is stored', async () => {
    const key = await createdExperiment(client);
    assert.equal((await client.post(`/v1/experiments/${key}/start`)).status, 200);
    const ingest = await client.post('/v1/api-keys').send({ name: 'platform', role: 'ingest' });
    const response = await (await api(ingest.body.key)).post(`/v1/experiments/${key}/assignments/import`).send({ assignments: [{ customerId: 'x', variant: 'control', assignedAt: new Date().toISOString() }] });
    assert.equal(response.status, 403);
    assert.equal(await stored(key), 0);
  });
});
