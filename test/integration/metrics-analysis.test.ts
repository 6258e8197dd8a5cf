// A support experiment that ran elsewhere, analysed with library metrics of every event kind: backdated
// assignments (import) and 60 days of events with a known effect. Every figure is compared with an
// independent computation from the same raw data, written here from the definitions in docs/metrics.md.
import assert from 'node:assert/strict';
import normal = require('@stdlib/stats-base-dists-normal');
import { api, type Api } from '../helpers/app';
import { emailExperiment, uniqueKey } from '../helpers/factories';
import { parkMiller as random } from '../helpers/random';

const DAY = 86_400_000;
const HOUR = 3_600_000;


interface RawEvent {
  customerId: string;
  name: string;
  at: number;
  value?: number;
  properties?: Record<string, unknown>;
}

interface Customer {
  customerId: string;
  variant: 'control' | 'treatment';
  assignedAt: number;
}

/** numpy.quantile's default (linear interpolation between order statistics). */
function exactQuantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  return lo === h ? sorted[lo] : sorted[lo] + (h - lo) * (sorted[lo + 1] - sorted[lo]);
}

/** The delta-method variance of R = Σx/Σy from per-customer values (sample covariances, n − 1). */
function ratioVariance(x: number[], y: number[]): { ratio: number; variance: number } {
  const n = x.length;
  const mx = x.reduce((a, b) => a + b, 0) / n;
  const my = y.reduce((a, b) => a + b, 0) / n;
  const r = mx / my;
  let sxx = 0;
  let syy = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    sxx += (x[i] - mx) ** 2;
    syy += (y[i] - my) ** 2;
    sxy += (x[i] - mx) * (y[i] - my);
  }
  return { ratio: r, variance: (sxx / (n - 1) - 2 * r * (sxy / (n - 1)) + r * r * (syy / (n - 1))) / (n * my * my) };
}

describe('metric kinds over HTTP (a support experiment imported with 60 days of events)', () => {
  let client: Api;
  const now = Date.now();
  const startedAt = now - 75 * DAY;
  const key = uniqueKey('support');
  const customers: Customer[] = [];
  const events: RawEvent[] = [];
  let results: { metrics: { metric: string; kind: string; variants: { variant: string; units: number; analysedUnits?: number; value: number | null; numerator?: number; denominator?: number; observations?: number }[]; comparisons: { variant: string; pValue: number | null }[]; capping?: { cap?: number } }[] };

  const answers: { customer: Customer; score: number }[] = [];
  const metric = (name: string) => results.metrics.find((m) => m.metric === name)!;
  const estimate = (name: string, variant: string) => metric(name).variants.find((v) => v.variant === variant)!;
  const inVariant = (variant: string) => customers.filter((c) => c.variant === variant);
  const eventsOf = (customer: Customer, name: string) => events.filter((e) => e.customerId === customer.customerId && e.name === name);
  /** The documented maturity rule: everyone assigned that UTC day has had the whole window. */
  const mature = (customer: Customer, windowEndMs: number) => {
    const day = new Date(customer.assignedAt).toISOString().slice(0, 10);
    return Date.parse(`${day}T00:00:00Z`) + DAY + windowEndMs <= Date.now();
  };

  before(async function () {
    this.timeout(180_000);
    client = await api();
    const library = [
      { key: `${key.replace(/-/g, '_')}_churn`, name: '30-day churn', kind: 'proportion', direction: 'decrease', event: 'login', match: 'none', window: { delay: 'P30D', duration: 'P30D' } },
      { key: `${key.replace(/-/g, '_')}_d7`, name: 'Day-7 retention', kind: 'proportion', direction: 'increase', event: 'login', window: { delay: 'P7D', duration: 'P1D' } },
      { key: `${key.replace(/-/g, '_')}_ltv`, name: 'Revenue per customer, capped at 100', kind: 'mean', direction: 'increase', event: 'purchase', value: 'value', capping: { type: 'absolute', value: 100 } },
      { key: `${key.replace(/-/g, '_')}_ltv90`, name: 'Revenue per customer, capped at P90', kind: 'mean', direction: 'increase', event: 'purchase', value: 'value', capping: { type: 'percentile', value: 0.9 } },
      { key: `${key.replace(/-/g, '_')}_reopen`, name: 'Reopened per resolved ticket', kind: 'ratio', direction: 'decrease', numerator: { event: 'ticket.reopened', value: 'count' }, denominator: { event: 'ticket.resolved', value: 'count' } },
      { key: `${key.replace(/-/g, '_')}_hours`, name: 'Median hours to resolution', kind: 'quantile', direction: 'decrease', event: 'ticket.resolved', value: 'properties.hours', quantile: 0.5 },
      { key: `${key.replace(/-/g, '_')}_urgent`, name: 'Urgent tickets per customer', kind: 'mean', direction: 'decrease', event: 'ticket.created', value: 'count', filter: { 'properties.priority': { $in: ['high', 'urgent'] } } },
      { key: `${key.replace(/-/g, '_')}_effort`, name: 'Effort, 1 (easy) to 5', kind: 'survey', direction: 'decrease', scale: { min: 1, max: 5 }, topBox: [1, 2] },
    ];
    for (const definition of library) {
      const created = await client.post('/v1/metrics').send(definition);
      assert.equal(created.status, 201, JSON.stringify(created.body));
    }
    const [churn, d7, ltv, ltv90, reopen, hours, urgent, effort] = library.map((m) => m.key);
    const body = emailExperiment({ key, variants: [{ key: 'control', weight: 0.5, content: { subject: 'A', html: '<p>A</p>' } }, { key: 'treatment', weight: 0.5, content: { subject: 'B', html: '<p>B</p>' } }], metrics: { primary: reopen, secondary: [churn, d7, ltv, ltv90, hours, urgent, effort], guardrails: [] } });
    const created = await client.post('/v1/experiments').send(body);
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal((await client.post(`/v1/experiments/${key}/start`).send({ startedAt: new Date(startedAt).toISOString() })).status, 200);

    const rand = random(20261202);
    // 400 customers assigned over the first 10 days, 40 more 20 days ago (too recent for 30-day churn).
    for (let i = 0; i < 440; i++) {
      const assignedAt = i < 400 ? startedAt + Math.floor(rand() * 10 * DAY) : now - 20 * DAY - Math.floor(rand() * DAY);
      customers.push({ customerId: `${key}-c${i}`, variant: i % 2 === 0 ? 'control' : 'treatment', assignedAt });
    }
    for (const c of customers) {
      const t = c.variant === 'treatment';
      const horizon = Math.min(60 * DAY, now - c.assignedAt - HOUR);
      // Logins: the treatment keeps customers coming back longer.
      const logins = Math.floor(rand() * (t ? 9 : 6));
      for (let k = 0; k < logins; k++) events.push({ customerId: c.customerId, name: 'login', at: c.assignedAt + Math.floor(rand() * horizon * (t ? 1 : 0.7)) });
      // Purchases: heavy-tailed values, some above the cap.
      const purchases = Math.floor(rand() * 4);
      for (let k = 0; k < purchases; k++) events.push({ customerId: c.customerId, name: 'purchase', at: c.assignedAt + Math.floor(rand() * horizon), value: Math.round(10 + (rand() ** 3) * (t ? 260 : 200)) });
      // Tickets: created (some urgent), resolved after some hours, some reopened (fewer with the treatment).
      const tickets = Math.floor(rand() * 4);
      for (let k = 0; k < tickets; k++) {
        const at = c.assignedAt + Math.floor(rand() * (horizon - 3 * DAY));
        events.push({ customerId: c.customerId, name: 'ticket.created', at, properties: { priority: rand() < 0.3 ? 'urgent' : 'normal' } });
        const hoursTaken = Math.round((1 + rand() * (t ? 20 : 30)) * 10) / 10;
        events.push({ customerId: c.customerId, name: 'ticket.resolved', at: at + hoursTaken * HOUR, properties: { hours: hoursTaken } });
        if (rand() < (t ? 0.15 : 0.35)) events.push({ customerId: c.customerId, name: 'ticket.reopened', at: at + hoursTaken * HOUR + DAY });
      }
    }
    // One event before its customer's assignment: it does not count.
    events.push({ customerId: customers[0].customerId, name: 'ticket.reopened', at: customers[0].assignedAt - HOUR });

    const imported = await client.post(`/v1/experiments/${key}/assignments/import`).send({ assignments: customers.map((c) => ({ customerId: c.customerId, variant: c.variant, assignedAt: new Date(c.assignedAt).toISOString() })) });
    assert.equal(imported.body.imported, 440, JSON.stringify(imported.body));
    for (let i = 0; i < events.length; i += 1000) {
      const batch = events.slice(i, i + 1000).map((e, j) => ({ eventId: `${key}-e${i + j}`, customerId: e.customerId, name: e.name, timestamp: new Date(e.at).toISOString(), ...(e.value !== undefined ? { value: e.value } : {}), ...(e.properties ? { properties: e.properties } : {}) }));
      assert.equal((await client.post('/v1/events').send({ events: batch })).status, 202);
    }
    // The event before its customer's assignment is not part of the raw data the metrics see.
    events.pop();
    // Answers on the library's own 1-5 effort scale (the treatment is easier), through POST /v1/responses.
    for (const c of customers.slice(0, 200)) {
      const score = 1 + Math.floor(rand() * (c.variant === 'treatment' ? 3 : 5));
      const answered = await client.post('/v1/responses').send({ customerId: c.customerId, metric: effort, score, timestamp: new Date(c.assignedAt + DAY).toISOString() });
      assert.equal(answered.status, 201, JSON.stringify(answered.body));
      answers.push({ customer: c, score });
    }
    const response = await client.get(`/v1/experiments/${key}/results`);
    assert.equal(response.status, 200, JSON.stringify(response.body));
    results = response.body;
  });

  it('when churn is "no login in days 30 to 60", then only customers whose window has ended are analysed, and the share without a login matches the raw data', () => {
    const name = `${key.replace(/-/g, '_')}_churn`;
    for (const variant of ['control', 'treatment']) {
      const analysed = inVariant(variant).filter((c) => mature(c, 60 * DAY));
      const churned = analysed.filter((c) => !eventsOf(c, 'login').some((e) => e.at >= c.assignedAt + 30 * DAY && e.at < c.assignedAt + 60 * DAY));
      const got = estimate(name, variant);
      assert.equal(got.analysedUnits, analysed.length);
      assert.ok(analysed.length < inVariant(variant).length, 'the 20 recent customers of each variant are not analysed yet');
      assert.ok(Math.abs(got.value! - churned.length / analysed.length) < 1e-12, `${variant}: ${got.value} vs ${churned.length}/${analysed.length}`);
    }
  });

  it('when day-7 retention is a login on day 7, then the recent customers count too (their window has ended) and the rate matches', () => {
    const name = `${key.replace(/-/g, '_')}_d7`;
    for (const variant of ['control', 'treatment']) {
      const analysed = inVariant(variant).filter((c) => mature(c, 8 * DAY));
      const retained = analysed.filter((c) => eventsOf(c, 'login').some((e) => e.at >= c.assignedAt + 7 * DAY && e.at < c.assignedAt + 8 * DAY));
      assert.equal(analysed.length, inVariant(variant).length);
      assert.ok(Math.abs(estimate(name, variant).value! - retained.length / analysed.length) < 1e-12);
    }
  });

  it('when revenue is capped at 100 or at the 90th percentile of the pooled customers, then the capped means match (the percentile within the sketch accuracy)', () => {
    const totals = (c: Customer) => eventsOf(c, 'purchase').reduce((sum, e) => sum + e.value!, 0);
    const all = customers.map(totals);
    const p90 = exactQuantile(all, 0.9);
    const got90 = metric(`${key.replace(/-/g, '_')}_ltv90`).capping!.cap!;
    assert.ok(Math.abs(got90 - p90) / p90 < 0.01, `cap ${got90} vs ${p90}`);
    for (const variant of ['control', 'treatment']) {
      const group = inVariant(variant).map(totals);
      const mean = (cap: number) => group.reduce((sum, t) => sum + Math.min(t, cap), 0) / group.length;
      assert.ok(Math.abs(estimate(`${key.replace(/-/g, '_')}_ltv`, variant).value! - mean(100)) < 1e-9);
      assert.ok(Math.abs(estimate(`${key.replace(/-/g, '_')}_ltv90`, variant).value! - mean(got90)) / mean(got90) < 0.01);
    }
  });

  it('when reopen rate is reopened per resolved ticket, then the ratio, its delta-method p-value and the sums match the raw data', () => {
    const name = `${key.replace(/-/g, '_')}_reopen`;
    const sides = (variant: string) => {
      const group = inVariant(variant);
      return { x: group.map((c) => eventsOf(c, 'ticket.reopened').length), y: group.map((c) => eventsOf(c, 'ticket.resolved').length) };
    };
    const control = sides('control');
    const treatment = sides('treatment');
    const rc = ratioVariance(control.x, control.y);
    const rt = ratioVariance(treatment.x, treatment.y);
    assert.ok(Math.abs(estimate(name, 'control').value! - rc.ratio) < 1e-12);
    assert.ok(Math.abs(estimate(name, 'treatment').value! - rt.ratio) < 1e-12);
    assert.equal(estimate(name, 'control').numerator, control.x.reduce((a, b) => a + b, 0));
    const z = (rt.ratio - rc.ratio) / Math.sqrt(rc.variance + rt.variance);
    const p = 2 * (1 - normal.cdf(Math.abs(z), 0, 1));
    const got = metric(name).comparisons[0].pValue!;
    assert.ok(Math.abs(got - p) < 1e-9 * Math.max(1, p), `p ${got} vs ${p}`);
    assert.ok(got < 0.05, 'the planted effect is found');
  });

  it('when time to resolution is a median over resolved tickets, then the estimate is within 1% of the exact sample median per variant', () => {
    const name = `${key.replace(/-/g, '_')}_hours`;
    for (const variant of ['control', 'treatment']) {
      const hours = inVariant(variant).flatMap((c) => eventsOf(c, 'ticket.resolved').map((e) => e.properties!.hours as number));
      const exact = exactQuantile(hours, 0.5);
      const got = estimate(name, variant);
      assert.equal(got.observations, hours.length, 'one observation per resolved ticket');
      assert.ok(Math.abs(got.value! - exact) / exact < 0.01, `${variant}: ${got.value} vs ${exact}`);
    }
    assert.ok(metric(name).comparisons[0].pValue! < 0.05, 'the treatment resolves faster');
  });

  it('when a metric filters on a property, then only matching events count', () => {
    const name = `${key.replace(/-/g, '_')}_urgent`;
    for (const variant of ['control', 'treatment']) {
      const group = inVariant(variant);
      const urgent = group.reduce((sum, c) => sum + eventsOf(c, 'ticket.created').filter((e) => e.properties!.priority === 'urgent').length, 0);
      assert.ok(Math.abs(estimate(name, variant).value! - urgent / group.length) < 1e-12);
    }
  });

  it('when a survey metric of the library has its own scale, then answers outside it or to an unknown metric are refused naming the field, and the mean and top box match', async () => {
    const effort = `${key.replace(/-/g, '_')}_effort`;
    const outside = await client.post('/v1/responses').send({ customerId: customers[0].customerId, metric: effort, score: 6 });
    assert.equal(outside.status, 400);
    assert.match(outside.body.error.message, /^score: /);
    const unknown = await client.post('/v1/responses').send({ customerId: customers[0].customerId, metric: 'no_such_survey', score: 3 });
    assert.equal(unknown.status, 400);
    assert.match(unknown.body.error.message, /^metric: /);
    for (const variant of ['control', 'treatment']) {
      const scores = answers.filter((a) => a.customer.variant === variant).map((a) => a.score);
      const got = estimate(effort, variant) as { value: number | null; responders?: number; topBox?: { rate: number | null } };
      assert.equal(got.responders, scores.length);
      assert.ok(Math.abs(got.value! - scores.reduce((a, b) => a + b, 0) / scores.length) < 1e-12);
      assert.ok(Math.abs(got.topBox!.rate! - scores.filter((x) => x <= 2).length / scores.length) < 1e-12);
    }
  });

  it('when read as CSV and in the HTML report, then each kind shows its figures in the reader\'s terms', async () => {
    const reopen = `${key.replace(/-/g, '_')}_reopen`;
    const csv = await client.get(`/v1/experiments/${key}/results.csv`);
    assert.equal(csv.status, 200);
    const [header, ...lines] = csv.text.trim().split('\r\n');
    const columns = header.split(',');
    const row = lines.map((line) => line.split(',')).find((cells) => cells[columns.indexOf('metric')] === reopen && cells[columns.indexOf('variant')] === 'control')!;
    assert.equal(row[columns.indexOf('label')], 'Reopened per resolved ticket');
    assert.equal(Number(row[columns.indexOf('numerator')]), estimate(reopen, 'control').numerator);
    assert.equal(Number(row[columns.indexOf('denominator')]), estimate(reopen, 'control').denominator);
    const churnRow = lines.map((line) => line.split(',')).find((cells) => cells[columns.indexOf('metric')] === `${key.replace(/-/g, '_')}_churn`)!;
    assert.equal(Number(churnRow[columns.indexOf('analysed_units')]), estimate(`${key.replace(/-/g, '_')}_churn`, churnRow[columns.indexOf('variant')]).analysedUnits);

    const share = await client.post(`/v1/experiments/${key}/share`).send({});
    assert.equal(share.status, 201, JSON.stringify(share.body));
    const link = new URL(share.body.url as string);
    const page = await client.get(`${link.pathname}${link.search}`);
    assert.equal(page.status, 200);
    for (const text of ['Reopened per resolved ticket', 'Median hours to resolution', '30-day churn', 'customers whose window has ended', 'share without the event', 'totals capped at 100', 'median of', ' per ']) {
      assert.ok(page.text.includes(text), `the report shows "${text}"`);
    }
  });

  it('when a library metric is used by the running experiment, then its definition cannot change but its name can', async () => {
    const name = `${key.replace(/-/g, '_')}_hours`;
    const refused = await client.patch(`/v1/metrics/${name}`).send({ quantile: 0.9 });
    assert.equal(refused.status, 409);
    assert.equal((await client.patch(`/v1/metrics/${name}`).send({ name: 'Median hours to resolve' })).status, 200);
  });
});
