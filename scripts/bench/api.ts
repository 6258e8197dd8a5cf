// HTTP and ingestion benchmark for the core API, each figure beside a baseline measured in the same run:
//  - POST /v1/assignments (distinct customers): requests/s, p50/p99, beside a bare Express 5 JSON route;
//  - POST /v1/assignments/batch (BATCH customers a call): assignments/s, beside the bare route;
//  - POST /v1/events (BATCH events a call): events/s, beside the bare route and raw driver insertMany
//    of the same documents into the same database; the aggregator's lag (seal → counted) meanwhile;
//  - GET /v1/experiments/:key/results at 1M assigned customers, 5 metrics, 3 variants, 90 daily
//    cohorts (cohort aggregates seeded); with 10 library metrics of every kind, 2 dimensions of 10
//    values and CUPED (whole, by one dimension, and the CSV with every slice); and for an experiment that really ingested 100,000
//    assignments and 300,000 events over HTTP (no seeding).
// Starts its own embedded database in a temporary DATA_DIR and listens on loopback only; every phase is
// bounded in time.   npm run bench   or   npx tsx scripts/bench/api.ts [seconds=10] [connections=10]
import fs from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Result } from 'autocannon';
import { machine, percentileOfSorted } from './machine';

const SECONDS = Number(process.argv[2] ?? 10);
const CONNECTIONS = Number(process.argv[3] ?? 10);
const BATCH = 1000;
const BATCH_CONNECTIONS = 4;
const SEEDED_ASSIGNED = 1_000_000;
const SEEDED_DAYS = 90;
const REAL_ASSIGNMENTS = Number(process.env.BENCH_REAL_ASSIGNMENTS ?? 100_000);
const REAL_EVENTS = Number(process.env.BENCH_REAL_EVENTS ?? 300_000);
/** BENCH_ONLY=single,batch,events,results,metrics,real runs only those phases (events need single's customers). */
const ONLY = new Set((process.env.BENCH_ONLY ?? 'single,batch,events,results,metrics,real').split(',').map((s) => s.trim()));
/**
 * BENCH_SEGMENTS=on: the ingestion experiment declares 2 dimensions (5 and 8 values) and CUPED, and single
 * assignments carry both attributes: what slices and covariates cost the write path and the aggregator.
 * `dimensions` or `cuped` turns on one of the two.
 */
const SEGMENTS_SETTING = process.env.BENCH_SEGMENTS ?? 'off';
const SEGMENTS = SEGMENTS_SETTING !== 'off';
const WITH_DIMENSIONS = SEGMENTS_SETTING === 'on' || SEGMENTS_SETTING === 'dimensions';
const WITH_CUPED = SEGMENTS_SETTING === 'on' || SEGMENTS_SETTING === 'cuped';
/** BENCH_AGGREGATOR=off measures the write path alone: nothing is counted (no drains, no results phases). */
const aggregating = process.env.BENCH_AGGREGATOR !== 'off';
if (!aggregating && (ONLY.has('results') || ONLY.has('metrics') || ONLY.has('real'))) {
  process.stderr.write('BENCH_AGGREGATOR=off: results are read only once counted; choose BENCH_ONLY among single,batch,events\n');
  process.exit(2);
}

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'verdict-bench-'));
process.env.DATA_DIR = dataDir;
process.env.LOG_LEVEL ??= 'warn';
process.env.NODE_ENV ??= 'test';
process.env.ADMIN_API_KEY ??= 'bench-admin-key-0123456789abcdef';
process.env.TRACKING_SECRET ??= 'bench-tracking-secret-0123456789abcdef0123456789';
process.env.PUBLIC_BASE_URL ??= 'https://verdict.bench';
process.env.MONGODB_DB = `verdict_bench_${process.pid}`;

interface Row {
  name: string;
  rate: string;
  p50: string;
  p99: string;
  baseline: string;
}

function listen(app: { listen: (port: number, host: string, cb: () => void) => Server }): Promise<{ server: Server; url: string }> {
  return new Promise((resolve) => {
    const server = app.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }));
  });
}


async function main(): Promise<void> {
  const autocannon = (await import('autocannon')).default;
  const express = (await import('express')).default;
  const { buildApp } = await import('../../src/app');
  const { connectDatabase, disconnectDatabase, ensureIndexes, db } = await import('../../src/db/connection');
  const { resolveSecrets } = await import('../../src/lib/dev-secrets');
  const { configureModules, serviceSettings } = await import('../../src/wiring');
  const { getConfig } = await import('../../config');
  const { JobRunner } = await import('../../src/jobs/runner');
  const { aggregatorDuty } = await import('../../src/modules/aggregator');
  const { aggregatesRepository } = await import('../../src/modules/aggregates');
  const { countingRepository } = await import('../../src/modules/counting');

  const adminKey = getConfig().ADMIN_API_KEY!;
  // Wired as the service is (src/server.ts).
  const settings = serviceSettings(getConfig(), resolveSecrets(getConfig()));
  configureModules(settings);
  const database = await connectDatabase(settings.database);
  await ensureIndexes();
  const verdict = await listen(buildApp(getConfig()));
  // The counting engine runs beside the API, as in the service.
  const jobs = new JobRunner({ leaseMs: getConfig().JOB_LEASE_MS });
  const counting = aggregatorDuty(getConfig());
  jobs.register(counting.duty);
  if (aggregating) jobs.start();
  const percentile = (values: number[], p: number) => percentileOfSorted([...values].sort((a, b) => a - b), p);
  /** Waits until every acknowledged record is counted; resolves to the ms it took. */
  const drain = async (limitMs = 600_000) => {
    if (!aggregating) return 0;
    const started = Date.now();
    while (Date.now() - started < limitMs) {
      const log = await countingRepository.listLog();
      if (log.batches.length + log.seals.length === 0) return Date.now() - started;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error('the aggregator did not catch up in time');
  };

  // The baseline: Express 5 with the same JSON body parser and limit, answering without any work.
  const bare = express();
  bare.use(express.json({ limit: getConfig().BODY_LIMIT }));
  bare.post('/json', (req, res) => {
    const body = req.body as { customers?: unknown; events?: unknown } | undefined;
    const list = body?.customers ?? body?.events;
    res.json({ ok: true, received: Array.isArray(list) ? list.length : 1 });
  });
  const baseline = await listen(bare);

  const headers = { 'content-type': 'application/json', authorization: `Bearer ${adminKey}` };
  const call = async (method: string, url: string, body?: unknown) => {
    const res = await fetch(`${verdict.url}${url}`, { method, headers, ...(body ? { body: JSON.stringify(body) } : {}) });
    if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${await res.text()}`);
    return res.json();
  };

  const run = (opts: { url: string; connections: number; duration: number; body: () => string; method?: 'POST' | 'GET' }) =>
    autocannon({
      url: opts.url,
      connections: opts.connections,
      duration: opts.duration,
      method: opts.method ?? 'POST',
      headers,
      requests: [{ setupRequest: (req) => ({ ...req, ...(opts.method === 'GET' ? {} : { body: opts.body() }) }) }],
    });
  const okPerSecond = (r: Result) => r['2xx'] / r.duration;
  const pct = (value: number, base: number) => `${Math.round((value / base) * 100)}%`;
  /** Raw driver insertMany of BATCH documents a call, BATCH_CONNECTIONS writers, for SECONDS: docs/s. */
  const rawInsertRate = async (collectionName: string, docs: (n: number) => { _id: string }[]) => {
    const raw = db().collection<{ _id: string }>(collectionName);
    let n = 0;
    let inserted = 0;
    const started = Date.now();
    const deadline = started + SECONDS * 1000;
    await Promise.all(
      Array.from({ length: BATCH_CONNECTIONS }, async () => {
        while (Date.now() < deadline) {
          const batchDocs = docs(n++);
          await raw.insertMany(batchDocs, { ordered: false });
          inserted += batchDocs.length;
        }
      }),
    );
    return inserted / ((Date.now() - started) / 1000);
  };
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  /** CPU time of this process (app, aggregator and load generator) per answered request, in ms. */
  const cpuMsPer = (usage: NodeJS.CpuUsage, requests: number) => ((usage.user + usage.system) / 1000 / Math.max(1, requests)).toFixed(2);
  const rows: Row[] = [];
  const log = (message: string) => process.stderr.write(`bench: ${message}\n`);

  const experiment = `bench-${process.pid}`;
  await call('POST', '/v1/experiments', {
    key: experiment,
    name: 'Benchmark',
    assetType: 'email',
    variants: [
      { key: 'control', weight: 0.5, content: { subject: 'A', html: '<p>A</p>' } },
      { key: 'treatment', weight: 0.5, content: { subject: 'B', html: '<p>B</p>' } },
    ],
    metrics: { primary: 'email_open', secondary: ['email_click', 'revenue'], custom: [{ key: 'revenue', kind: 'mean', event: 'purchase', direction: 'increase' }] },
    ...(WITH_DIMENSIONS ? { dimensions: ['plan', 'region'] } : {}),
    ...(WITH_CUPED ? { analysis: { cuped: { lookback: 'P14D' } } } : {}),
  });
  await call('POST', `/v1/experiments/${experiment}/start`);
  if (SEGMENTS) await drain();

  // 1. Single assignments, distinct customers.
  let assignedCustomers = 0;
  const verdictRuns: Result[] = [];
  if (ONLY.has('single')) {
  log(`POST /v1/assignments for ${SECONDS} s at ${CONNECTIONS} connections`);
  let single = 0;
  const singleBody = () => {
    const n = single++;
    return JSON.stringify({ experiment, customerId: `s-${n}`, ...(SEGMENTS ? { attributes: { plan: `p${n % 5}`, region: `r${n % 8}` } } : {}) });
  };
  const cpu0 = process.cpuUsage();
  const assign = await run({ url: `${verdict.url}/v1/assignments`, connections: CONNECTIONS, duration: SECONDS, body: singleBody });
  const assignCpu = cpuMsPer(process.cpuUsage(cpu0), assign['2xx']);
  // The customers assigned (the baseline below goes on numbering bodies it never assigns).
  assignedCustomers = single;
  log('the same bodies to the bare Express route');
  const cpu2 = process.cpuUsage();
  const assignBase = await run({ url: `${baseline.url}/json`, connections: CONNECTIONS, duration: SECONDS, body: singleBody });
  const baseCpu = cpuMsPer(process.cpuUsage(cpu2), assignBase['2xx']);
  rows.push({
    name: 'POST /v1/assignments (requests/s)',
    rate: fmt(okPerSecond(assign)),
    p50: `${assign.latency.p50} ms`,
    p99: `${assign.latency.p99} ms`,
    baseline: `bare Express: ${fmt(okPerSecond(assignBase))} req/s (${pct(okPerSecond(assign), okPerSecond(assignBase))}), p50 ${assignBase.latency.p50} ms, p99 ${assignBase.latency.p99} ms; CPU of this process a request: ${assignCpu} ms (bare ${baseCpu} ms)`,
  });
  verdictRuns.push(assign);

  }
  // 2. Batch assignments, BATCH new customers a call.
  if (ONLY.has('batch')) {
  log(`POST /v1/assignments/batch (${BATCH} a call) for ${SECONDS} s at ${BATCH_CONNECTIONS} connections`);
  let batchNo = 0;
  const batchBody = () => {
    const n = batchNo++;
    return JSON.stringify({ experiment, customers: Array.from({ length: BATCH }, (_, i) => ({ customerId: `b-${n}-${i}` })) });
  };
  const batch = await run({ url: `${verdict.url}/v1/assignments/batch`, connections: BATCH_CONNECTIONS, duration: SECONDS, body: batchBody });
  verdictRuns.push(batch);
  log('the same bodies to the bare Express route');
  const batchBase = await run({ url: `${baseline.url}/json`, connections: BATCH_CONNECTIONS, duration: SECONDS, body: batchBody });
  await drain();
  // Raw driver insertMany of the same assignment documents (as stored) into the same database.
  const rawAssignments = await rawInsertRate(`bench_raw_assignments_${process.pid}`, (n) =>
    Array.from({ length: BATCH }, (_, i) => ({ _id: `${experiment}:raw-${n}-${i}`, experiment, customerId: `raw-${n}-${i}`, variant: i % 2 ? 'control' : 'treatment', reason: 'hash', assignedAt: new Date() })),
  );
  rows.push({
    name: `POST /v1/assignments/batch, ${fmt(BATCH)} a call (assignments/s)`,
    rate: fmt(okPerSecond(batch) * BATCH),
    p50: `${batch.latency.p50} ms`,
    p99: `${batch.latency.p99} ms`,
    baseline: `raw insertMany: ${fmt(rawAssignments)} docs/s (${pct(okPerSecond(batch) * BATCH, rawAssignments)}); bare Express: ${fmt(okPerSecond(batchBase) * BATCH)} customers/s`,
  });

  // 3. Events, BATCH a call, for customers assigned above (so every event is counted into aggregates).
  }
  if (ONLY.has('events')) {
  const eventDocs = (n: number) =>
    Array.from({ length: BATCH }, (_, i) => ({
      eventId: `e-${n}-${i}`,
      customerId: `s-${(n * BATCH + i) % Math.max(1, assignedCustomers)}`,
      name: i % 3 === 0 ? 'purchase' : i % 3 === 1 ? 'email.open' : 'email.click',
      ...(i % 3 === 0 ? { value: (i % 50) + 0.5 } : {}),
    }));
  log(`POST /v1/events (${BATCH} a call) for ${SECONDS} s at ${BATCH_CONNECTIONS} connections`);
  let eventBatch = 0;
  const eventsBody = () => JSON.stringify({ events: eventDocs(eventBatch++) });
  counting.aggregator.takeLags();
  const events = await run({ url: `${verdict.url}/v1/events`, connections: BATCH_CONNECTIONS, duration: SECONDS, body: eventsBody });
  verdictRuns.push(events);
  const lags = counting.aggregator.takeLags();
  log('until the aggregator has counted everything');
  const catchUp = await drain();
  const lateLags = counting.aggregator.takeLags();
  log('the same bodies to the bare Express route');
  const eventsBase = await run({ url: `${baseline.url}/json`, connections: BATCH_CONNECTIONS, duration: SECONDS, body: eventsBody });

  // Raw driver insertMany of the same documents (as stored: _id = eventId) into the same database.
  log(`raw driver insertMany (${BATCH} a call) for ${SECONDS} s with ${BATCH_CONNECTIONS} writers`);
  let rawBatch = 0;
  const rawRate = await rawInsertRate(`bench_raw_events_${process.pid}`, () => {
    const receivedAt = new Date();
    return eventDocs(rawBatch++).map(({ eventId, ...rest }) => ({ _id: `raw-${eventId}`, ...rest, timestamp: receivedAt, receivedAt }));
  });
  const eventRate = okPerSecond(events) * BATCH;
  rows.push({
    name: `POST /v1/events, ${fmt(BATCH)} a call (events/s)`,
    rate: fmt(eventRate),
    p50: `${events.latency.p50} ms`,
    p99: `${events.latency.p99} ms`,
    baseline: `raw insertMany: ${fmt(rawRate)} docs/s (${pct(eventRate, rawRate)}); bare Express: ${fmt(okPerSecond(eventsBase) * BATCH)} events/s`,
  });
  const allLags = [...lags, ...lateLags];
  rows.push({
    name: 'aggregator lag during the events phase (seal → counted)',
    rate: `${fmt(allLags.length)} batches`,
    p50: `${fmt(percentile(allLags, 50))} ms`,
    p99: `${fmt(percentile(allLags, 99))} ms`,
    baseline: aggregating ? `counted everything ${fmt(catchUp)} ms after the last event was acknowledged` : 'aggregator off (BENCH_AGGREGATOR=off)',
  });

  }
  // 4. Results latency. (a) 1,000,000 customers over 90 daily cohorts, 3 variants, 5 metrics: the
  // cohort aggregates such an experiment leaves are seeded through the aggregates repository.
  const metrics = { primary: 'email_open', secondary: ['email_click', 'csat', 'nps'], guardrails: ['unsubscribe'] };
  const threeVariants = [
    { key: 'control', weight: 1 / 3, content: { subject: 'A', html: '<p>A</p>' } },
    { key: 'b', weight: 1 / 3, content: { subject: 'B', html: '<p>B</p>' } },
    { key: 'c', weight: 1 / 3, content: { subject: 'C', html: '<p>C</p>' } },
  ];
  const resultsRow = async (name: string, key: string) => {
    log(`GET /v1/experiments/${key}/results for ${Math.ceil(SECONDS / 2)} s at 1 connection`);
    const results = await run({ url: `${verdict.url}/v1/experiments/${key}/results`, connections: 1, duration: Math.ceil(SECONDS / 2), body: () => '', method: 'GET' });
    if (results['2xx'] === 0) throw new Error(`results of ${key}: no 2xx answer (${results.non2xx} others)`);
    rows.push({ name, rate: fmt(okPerSecond(results)), p50: `${results.latency.p50} ms`, p99: `${results.latency.p99} ms`, baseline: '-' });
    return results;
  };
  if (ONLY.has('results')) {
  const seededKey = `bench-results-seeded-${process.pid}`;
  await call('POST', '/v1/experiments', { key: seededKey, name: 'Results, seeded', assetType: 'email', variants: threeVariants, metrics });
  await call('POST', `/v1/experiments/${seededKey}/start`);
  {
    const perCell = SEEDED_ASSIGNED / 3 / SEEDED_DAYS;
    const day0 = Date.UTC(2026, 0, 1);
    const changes = threeVariants.flatMap((variant, vi) => {
      const lift = vi * 0.004;
      const cohorts = (f: (n: number) => { units: number; sum: number; sumSquares: number; histogram: Record<string, number> }) =>
        Object.fromEntries(Array.from({ length: SEEDED_DAYS }, (_, d) => [new Date(day0 + d * 86_400_000).toISOString().slice(0, 10), f(Math.round(perCell))]));
      const binomial = (p: number) => (n: number) => ({ units: Math.round(n * p), sum: Math.round(n * p), sumSquares: Math.round(n * p), histogram: {} });
      const survey = (shares: Record<string, number>) => (n: number) => {
        const histogram: Record<string, number> = {};
        let units = 0, sum = 0, sumSquares = 0;
        for (const [score, share] of Object.entries(shares)) {
          const count = Math.round(n * share);
          histogram[score] = count;
          units += count;
          sum += Number(score) * count;
          sumSquares += Number(score) ** 2 * count;
        }
        return { units, sum, sumSquares, histogram };
      };
      const cells: [string, ReturnType<typeof cohorts>][] = [
        ['$assigned', cohorts((n) => ({ units: n, sum: 0, sumSquares: 0, histogram: {} }))],
        ['email_open', cohorts(binomial(0.3 + lift))],
        ['email_click', cohorts(binomial(0.05 + lift / 5))],
        ['unsubscribe', cohorts(binomial(0.002))],
        ['csat', cohorts(survey({ '1': 0.02, '2': 0.03, '3': 0.05, '4': 0.05 + lift, '5': 0.05 }))],
        ['nps', cohorts(survey({ '0': 0.01, '6': 0.02, '8': 0.03, '9': 0.02 + lift, '10': 0.02 }))],
      ];
      return cells.map(([metric, c]) => ({ _id: `${seededKey}|${variant.key}|${metric}`, experiment: seededKey, variant: variant.key, metric, cohorts: c }));
    });
    await aggregatesRepository.replaceExperiment(seededKey, 0, [], changes);
  }
  await resultsRow(`GET results, ${fmt(SEEDED_ASSIGNED)} assigned, 5 metrics, 3 variants, ${SEEDED_DAYS} cohorts, seeded (requests/s)`, seededKey);
  const seededSeries = await run({ url: `${verdict.url}/v1/experiments/${seededKey}/results/timeseries`, connections: 1, duration: Math.ceil(SECONDS / 2), body: () => '', method: 'GET' });
  rows.push({ name: `GET results/timeseries (primary metric), same experiment (requests/s)`, rate: fmt(okPerSecond(seededSeries)), p50: `${seededSeries.latency.p50} ms`, p99: `${seededSeries.latency.p99} ms`, baseline: '-' });

  }
  // (a2) 10 library metrics of every kind, 2 dimensions of 10 values each, CUPED on, 1M assigned: seeded.
  if (ONLY.has('metrics')) {
    const key = `bench-metrics-${process.pid}`;
    const k = (name: string) => `bm${process.pid}_${name}`;
    const library = [
      { key: k('churn'), name: '30-day churn', kind: 'proportion', direction: 'decrease', event: 'login', match: 'none', window: { delay: 'P30D', duration: 'P30D' } },
      { key: k('d7'), name: 'Day-7 retention', kind: 'proportion', direction: 'increase', event: 'login', window: { delay: 'P7D', duration: 'P1D' } },
      { key: k('ltv'), name: 'Revenue, capped at 100', kind: 'mean', direction: 'increase', event: 'purchase', value: 'value', capping: { type: 'absolute', value: 100 } },
      { key: k('ltv90'), name: 'Revenue, capped at P90', kind: 'mean', direction: 'increase', event: 'purchase', value: 'value', capping: { type: 'percentile', value: 0.9 } },
      { key: k('reopen'), name: 'Reopened per resolved', kind: 'ratio', direction: 'decrease', numerator: { event: 'ticket.reopened', value: 'count' }, denominator: { event: 'ticket.resolved', value: 'count' } },
      { key: k('hours'), name: 'Median hours to resolution', kind: 'quantile', direction: 'decrease', event: 'ticket.resolved', value: 'properties.hours', quantile: 0.5 },
      { key: k('urgent'), name: 'Urgent tickets per customer', kind: 'mean', direction: 'decrease', event: 'ticket.created', value: 'count', filter: { 'properties.priority': 'urgent' } },
      { key: k('effort'), name: 'Effort 1-5', kind: 'survey', direction: 'decrease', scale: { min: 1, max: 5 } },
    ];
    for (const definition of library) await call('POST', '/v1/metrics', definition);
    const names = [...library.map((m) => m.key), 'csat', 'nps'];
    const dimensions = ['plan', 'region'];
    await call('POST', '/v1/experiments', {
      key,
      name: 'Results: 10 metrics, 2 dimensions, CUPED',
      assetType: 'email',
      variants: threeVariants,
      metrics: { primary: k('reopen'), secondary: names.filter((n) => n !== k('reopen')), guardrails: [] },
      analysis: { cuped: { lookback: 'P14D' } },
      dimensions,
    });
    await call('POST', `/v1/experiments/${key}/start`);
    // The start's rebuild (CUPED) must be done before the seeded aggregates replace what it counted.
    await drain();
    while ((await countingRepository.pendingRebuilds()).length > 0) await new Promise((resolve) => setTimeout(resolve, 50));
    const { sketchKey, bucketSumKey, bucketSquaresKey, sliceKey, CUPED_SUM_X, CUPED_SUM_XX, CUPED_SUM_XY, RATIO_SUM_Y, RATIO_SUM_YY, RATIO_SUM_XY } = await import('../../src/modules/counting');
    const { sketchBucketOf } = await import('../../src/stats/quantile');
    const values = Array.from({ length: 10 }, (_, i) => `v${i}`);
    const day0 = Date.now() - SEEDED_DAYS * 86_400_000;
    interface Totals { units: number; sum: number; sumSquares: number; histogram: Record<string, number> }
    const sketch = (n: number, scale: number, withSums: boolean) => {
      const histogram: Record<string, number> = {};
      for (let i = 0; i < 40; i++) {
        const value = scale * 1.12 ** i;
        const count = Math.round((n * Math.exp(-((i - 12) ** 2) / 60)) / 12);
        if (count === 0) continue;
        const bucket = sketchKey(sketchBucketOf(value));
        histogram[bucket] = (histogram[bucket] ?? 0) + count;
        if (withSums) {
          histogram[bucketSumKey(bucket)] = (histogram[bucketSumKey(bucket)] ?? 0) + count * value;
          histogram[bucketSquaresKey(bucket)] = (histogram[bucketSquaresKey(bucket)] ?? 0) + count * value * value;
        }
      }
      return histogram;
    };
    const cuped = (n: number, mx: number, my: number) => ({ [CUPED_SUM_X]: n * mx, [CUPED_SUM_XX]: n * (mx * mx + mx), [CUPED_SUM_XY]: n * (mx * my + 0.5 * mx) });
    const figures = (metric: string, n: number, lift: number): Totals => {
      if (metric === '$assigned') return { units: n, sum: 0, sumSquares: 0, histogram: {} };
      const binomial = (p: number) => ({ units: Math.round(n * p), sum: Math.round(n * p), sumSquares: Math.round(n * p), histogram: cuped(n, 0.4, p) });
      const survey = (min: number, max: number) => {
        const histogram: Record<string, number> = {};
        let units = 0, sum = 0, sumSquares = 0;
        for (let score = min; score <= max; score++) {
          const count = Math.round((n * 0.02 * (1 + (score - min) / (max - min + 1))) * (1 + lift));
          histogram[score] = count;
          units += count;
          sum += score * count;
          sumSquares += score * score * count;
        }
        return { units, sum, sumSquares, histogram };
      };
      if (metric === k('churn')) return binomial(0.25 - lift);
      if (metric === k('d7')) return binomial(0.4 + lift);
      if (metric === k('ltv')) return { units: Math.round(n * 0.3), sum: n * (30 + 10 * lift), sumSquares: n * 2500, histogram: cuped(n, 25, 30) };
      if (metric === k('ltv90')) return { units: Math.round(n * 0.3), sum: n * 35, sumSquares: n * 4000, histogram: sketch(Math.round(n * 0.3), 5, true) };
      if (metric === k('reopen')) return { units: Math.round(n * 0.5), sum: n * (0.3 - lift), sumSquares: n * 0.5, histogram: { [RATIO_SUM_Y]: n * 1.2, [RATIO_SUM_YY]: n * 2.5, [RATIO_SUM_XY]: n * 0.5 } };
      if (metric === k('hours')) return { units: Math.round(n * 1.5), sum: n * 30, sumSquares: n * 900, histogram: sketch(Math.round(n * 1.5), 1 + lift, false) };
      if (metric === k('urgent')) return { units: Math.round(n * 0.2), sum: n * 0.3, sumSquares: n * 0.5, histogram: cuped(n, 0.25, 0.3) };
      if (metric === k('effort')) return survey(1, 5);
      if (metric === 'csat') return survey(1, 5);
      return survey(0, 10);
    };
    const perCell = SEEDED_ASSIGNED / 3 / SEEDED_DAYS;
    const changes = [undefined, ...dimensions.flatMap((d) => values.map((v) => sliceKey(d, v)))].flatMap((slice) =>
      threeVariants.flatMap((variant, vi) =>
        ['$assigned', ...names].map((metric) => ({
          _id: `${key}|${variant.key}|${metric}${slice === undefined ? '' : `|@${slice}`}`,
          experiment: key,
          variant: variant.key,
          metric,
          ...(slice === undefined ? {} : { slice }),
          cohorts: Object.fromEntries(Array.from({ length: SEEDED_DAYS }, (_, d) => [new Date(day0 + d * 86_400_000).toISOString().slice(0, 10), figures(metric, Math.round(slice === undefined ? perCell : perCell / 10), vi * 0.01)])),
        })),
      ),
    );
    await aggregatesRepository.replaceExperiment(key, 0, [], changes);
    await countingRepository.saveSliceValues({ [key]: Object.fromEntries(dimensions.map((d) => [d, values])) });
    const whole = await call('GET', `/v1/experiments/${key}/results`) as { metrics: { metric: string; cuped?: unknown }[]; health: { unitsByVariant: Record<string, number> } };
    const assigned = Object.values(whole.health.unitsByVariant).reduce((a, b) => a + b, 0);
    if (whole.metrics.length !== 10 || whole.metrics.filter((m) => m.cuped).length !== 4 || Math.abs(assigned - SEEDED_ASSIGNED) > 1000) throw new Error(`metrics bench: unexpected results ${JSON.stringify(whole).slice(0, 400)}`);
    const label = `${fmt(SEEDED_ASSIGNED)} assigned, 10 metrics of every kind, 3 variants, 2 dimensions × 10 values, CUPED, ${SEEDED_DAYS} cohorts, seeded`;
    const { countingDb } = await import('../../src/db/connection');
    const paths = [
      [`GET results, ${label}`, `/v1/experiments/${key}/results`],
      ['GET results?dimension=plan, same experiment (10 slices)', `/v1/experiments/${key}/results?dimension=plan`],
      ['GET results.csv, same experiment (whole + 20 slices)', `/v1/experiments/${key}/results.csv`],
    ] as const;
    for (const [name, path] of paths) {
      // Cold: the experiment's aggregates version raised before each read (as a plan or rebuild does), so
      // nothing read before is kept and every read reads the aggregates.
      const cold: number[] = [];
      for (let i = 0; i < 15; i++) {
        await countingDb().collection<{ _id: string; r: number }>('aggregate_versions').updateOne({ _id: key }, { $inc: { r: 1 } }, { upsert: true });
        const started = performance.now();
        const res = await fetch(`${verdict.url}${path}`, { headers });
        await res.text();
        if (!res.ok) throw new Error(`${path}: ${res.status}`);
        cold.push(performance.now() - started);
      }
      cold.sort((a, b) => a - b);
      rows.push({ name: `${name}, aggregates read every time (reads/s, 15 sequential)`, rate: fmt(1000 / (cold.reduce((a, b) => a + b, 0) / cold.length)), p50: `${Math.round(percentileOfSorted(cold, 0.5))} ms`, p99: `${Math.round(cold[cold.length - 1])} ms`, baseline: '-' });
      // Warm: nothing counted meanwhile, so the aggregates read last are kept (version unchanged).
      log(`GET ${path} for ${Math.ceil(SECONDS / 2)} s at 1 connection`);
      const r = await run({ url: `${verdict.url}${path}`, connections: 1, duration: Math.ceil(SECONDS / 2), body: () => '', method: 'GET' });
      if (r['2xx'] === 0) {
        const probe = await fetch(`${verdict.url}${path}`, { headers });
        throw new Error(`${path}: no 2xx answer (${r.non2xx} others, ${r.errors} errors, ${r.timeouts} timeouts; one more: ${probe.status} ${(await probe.text()).slice(0, 300)})`);
      }
      rows.push({ name: `${name}, nothing counted since the last read (requests/s)`, rate: fmt(okPerSecond(r)), p50: `${r.latency.p50} ms`, p99: `${r.latency.p99} ms`, baseline: '-' });
    }
  }
  // (b) An experiment that really ingested REAL_ASSIGNMENTS assignments and REAL_EVENTS events over HTTP.
  if (ONLY.has('real')) {
  const realKey = `bench-results-real-${process.pid}`;
  await call('POST', '/v1/experiments', {
    key: realKey,
    name: 'Results, ingested',
    assetType: 'email',
    variants: threeVariants,
    metrics: { ...metrics, custom: [{ key: 'revenue', kind: 'mean', event: 'purchase', direction: 'increase' }], secondary: ['email_click', 'csat', 'revenue'] },
  });
  await call('POST', `/v1/experiments/${realKey}/start`);
  log(`ingesting ${fmt(REAL_ASSIGNMENTS)} assignments and ${fmt(REAL_EVENTS)} events over HTTP into ${realKey}`);
  const ingestStarted = Date.now();
  const pool = async (calls: number, make: (i: number) => Promise<unknown>) => {
    let next = 0;
    await Promise.all(Array.from({ length: BATCH_CONNECTIONS }, async () => {
      while (next < calls) await make(next++);
    }));
  };
  await pool(Math.ceil(REAL_ASSIGNMENTS / BATCH), (n) =>
    call('POST', '/v1/assignments/batch', { experiment: realKey, customers: Array.from({ length: BATCH }, (_, i) => ({ customerId: `r-${n * BATCH + i}` })) }),
  );
  const names = ['email.open', 'email.click', 'purchase', 'unsubscribe'];
  await pool(Math.ceil(REAL_EVENTS / BATCH), (n) =>
    call('POST', '/v1/events', {
      events: Array.from({ length: BATCH }, (_, i) => {
        const k = n * BATCH + i;
        const name = names[k % names.length];
        return { eventId: `r-${k}`, customerId: `r-${(k * 7919) % REAL_ASSIGNMENTS}`, name, ...(name === 'purchase' ? { value: (k % 40) + 0.99 } : {}) };
      }),
    }),
  );
  const ingestAcked = Date.now();
  const realCatchUp = await drain();
  log(`ingested in ${fmt(ingestAcked - ingestStarted)} ms; counted ${fmt(realCatchUp)} ms later`);
  const summary = (await call('GET', `/v1/experiments/${realKey}/summary`)) as { variants: { assigned: number }[] };
  const assignedReal = summary.variants.reduce((sum, v) => sum + v.assigned, 0);
  if (assignedReal !== REAL_ASSIGNMENTS) throw new Error(`real experiment: ${assignedReal} assigned counted, ${REAL_ASSIGNMENTS} sent`);
  await resultsRow(`GET results, ${fmt(REAL_ASSIGNMENTS)} assignments + ${fmt(REAL_EVENTS)} events ingested over HTTP (requests/s)`, realKey);
  rows.push({
    name: `ingesting them: ${fmt(REAL_ASSIGNMENTS)} assignments then ${fmt(REAL_EVENTS)} events, ${BATCH_CONNECTIONS} connections`,
    rate: `${fmt(((REAL_ASSIGNMENTS + REAL_EVENTS) / (ingestAcked - ingestStarted)) * 1000)} records/s`,
    p50: '-',
    p99: '-',
    baseline: `all counted ${fmt(realCatchUp)} ms after the last acknowledgement`,
  });

  }
  const errors = verdictRuns.map((r) => r.non2xx + r.errors).reduce((a, b) => a + b, 0);
  const lines = [
    `Machine: ${machine()}`,
    `Database: ${database.embedded ? 'embedded FerretDB v1.24.2 (SQLite) in a temporary DATA_DIR' : 'MONGODB_URI'}`,
    `Settings: ${SECONDS} s a phase; ${CONNECTIONS} connections for single requests, ${BATCH_CONNECTIONS} for batches of ${fmt(BATCH)}; loopback only${SEGMENTS ? `; ingestion experiment with${WITH_DIMENSIONS ? ' 2 dimensions' : ''}${WITH_CUPED ? ' CUPED' : ''} (BENCH_SEGMENTS=${SEGMENTS_SETTING})` : ''}`,
    '',
    '| measure | Verdict | p50 | p99 | baseline (same run) |',
    '| --- | ---: | ---: | ---: | --- |',
    ...rows.map((r) => `| ${r.name} | ${r.rate} | ${r.p50} | ${r.p99} | ${r.baseline} |`),
    '',
    `Non-2xx answers or errors during the Verdict phases: ${errors}.`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);

  // autocannon stops at its deadline with requests still being served: let them finish first.
  await new Promise((resolve) => setTimeout(resolve, 3000));
  await new Promise<void>((resolve) => verdict.server.close(() => resolve()));
  await new Promise<void>((resolve) => baseline.server.close(() => resolve()));
  await jobs.stop();
  counting.aggregator.close();
  await disconnectDatabase();
  fs.rmSync(dataDir, { recursive: true, force: true });
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
});
