// HTTP and ingestion benchmark for the core API, each figure beside a baseline measured in the same run:
//  - POST /v1/assignments (distinct customers): requests/s, p50/p99, beside a bare Express 5 JSON route;
//  - POST /v1/assignments/batch (BATCH customers a call): assignments/s, beside the bare route;
//  - POST /v1/events (BATCH events a call): events/s, beside the bare route and raw driver insertMany
//    of the same documents into the same database;
//  - GET /v1/experiments/:key/results at 10k, 100k and 1M assigned customers (aggregates seeded).
// Starts its own embedded database in a temporary DATA_DIR and listens on loopback only; every phase is
// bounded in time.   npm run bench   or   npx tsx scripts/bench/api.ts [seconds=10] [connections=10]
import { execSync } from 'node:child_process';
import fs from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Result } from 'autocannon';

const SECONDS = Number(process.argv[2] ?? 10);
const CONNECTIONS = Number(process.argv[3] ?? 10);
const BATCH = 1000;
const BATCH_CONNECTIONS = 4;
const RESULT_SIZES = [10_000, 100_000, 1_000_000];

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

function machine(): string {
  const cpu = fs.readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.+)$/m)?.[1] ?? os.cpus()[0]?.model ?? 'unknown';
  let nproc = String(os.cpus().length);
  try {
    nproc = execSync('nproc', { encoding: 'utf8' }).trim();
  } catch {
    // os.cpus() is the fallback
  }
  const memory = `${Math.round(os.totalmem() / 2 ** 30)} GiB`;
  return `nproc ${nproc}, ${cpu}, ${memory} memory, Node ${process.version}, ${os.type()} ${os.release()}`;
}

async function main(): Promise<void> {
  const autocannon = (await import('autocannon')).default;
  const express = (await import('express')).default;
  const { buildApp } = await import('../../src/app');
  const { connectDatabase, disconnectDatabase, ensureIndexes, db } = await import('../../src/db/connection');
  const { setAdminKey } = await import('../../src/modules/api-keys');
  const { getConfig } = await import('../../config');

  const adminKey = getConfig().ADMIN_API_KEY!;
  setAdminKey(adminKey);
  const database = await connectDatabase();
  await ensureIndexes();
  const verdict = await listen(buildApp());

  // The baseline: Express 5 with the same JSON body parser and limit, answering without any work.
  const bare = express();
  bare.use(express.json({ limit: getConfig().BODY_LIMIT }));
  bare.post('/json', (req, res) => {
    res.json({ ok: true, received: Array.isArray(req.body?.customers ?? req.body?.events) ? (req.body.customers ?? req.body.events).length : 1 });
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
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
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
  });
  await call('POST', `/v1/experiments/${experiment}/start`);

  // 1. Single assignments, distinct customers.
  log(`POST /v1/assignments for ${SECONDS} s at ${CONNECTIONS} connections`);
  let single = 0;
  const singleBody = () => JSON.stringify({ experiment, customerId: `s-${single++}` });
  const assign = await run({ url: `${verdict.url}/v1/assignments`, connections: CONNECTIONS, duration: SECONDS, body: singleBody });
  const assignBase = await run({ url: `${baseline.url}/json`, connections: CONNECTIONS, duration: SECONDS, body: singleBody });
  rows.push({
    name: 'POST /v1/assignments (requests/s)',
    rate: fmt(okPerSecond(assign)),
    p50: `${assign.latency.p50} ms`,
    p99: `${assign.latency.p99} ms`,
    baseline: `bare Express: ${fmt(okPerSecond(assignBase))} req/s, p50 ${assignBase.latency.p50} ms, p99 ${assignBase.latency.p99} ms`,
  });
  const assignedCustomers = single;

  // 2. Batch assignments, BATCH new customers a call.
  log(`POST /v1/assignments/batch (${BATCH} a call) for ${SECONDS} s at ${BATCH_CONNECTIONS} connections`);
  let batchNo = 0;
  const batchBody = () => {
    const n = batchNo++;
    return JSON.stringify({ experiment, customers: Array.from({ length: BATCH }, (_, i) => ({ customerId: `b-${n}-${i}` })) });
  };
  const batch = await run({ url: `${verdict.url}/v1/assignments/batch`, connections: BATCH_CONNECTIONS, duration: SECONDS, body: batchBody });
  const batchBase = await run({ url: `${baseline.url}/json`, connections: BATCH_CONNECTIONS, duration: SECONDS, body: batchBody });
  rows.push({
    name: `POST /v1/assignments/batch, ${fmt(BATCH)} a call (assignments/s)`,
    rate: fmt(okPerSecond(batch) * BATCH),
    p50: `${batch.latency.p50} ms`,
    p99: `${batch.latency.p99} ms`,
    baseline: `bare Express: ${fmt(okPerSecond(batchBase) * BATCH)} customers/s (p50 ${batchBase.latency.p50} ms)`,
  });

  // 3. Events, BATCH a call, for customers assigned above (so every event is counted into aggregates).
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
  const events = await run({ url: `${verdict.url}/v1/events`, connections: BATCH_CONNECTIONS, duration: SECONDS, body: eventsBody });
  const eventsBase = await run({ url: `${baseline.url}/json`, connections: BATCH_CONNECTIONS, duration: SECONDS, body: eventsBody });

  // Raw driver insertMany of the same documents (as stored: _id = eventId) into the same database.
  log(`raw driver insertMany (${BATCH} a call) for ${SECONDS} s with ${BATCH_CONNECTIONS} writers`);
  const raw = db().collection<{ _id: string }>(`bench_raw_events_${process.pid}`);
  let rawBatch = 0;
  let rawInserted = 0;
  const rawStarted = Date.now();
  const deadline = rawStarted + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: BATCH_CONNECTIONS }, async () => {
      while (Date.now() < deadline) {
        const n = rawBatch++;
        const receivedAt = new Date();
        const docs = eventDocs(n).map(({ eventId, ...rest }) => ({ _id: `raw-${eventId}`, ...rest, timestamp: receivedAt, receivedAt }));
        await raw.insertMany(docs, { ordered: false });
        rawInserted += docs.length;
      }
    }),
  );
  const rawRate = rawInserted / ((Date.now() - rawStarted) / 1000);
  rows.push({
    name: `POST /v1/events, ${fmt(BATCH)} a call (events/s)`,
    rate: fmt(okPerSecond(events) * BATCH),
    p50: `${events.latency.p50} ms`,
    p99: `${events.latency.p99} ms`,
    baseline: `raw insertMany: ${fmt(rawRate)} docs/s; bare Express: ${fmt(okPerSecond(eventsBase) * BATCH)} events/s`,
  });

  // 4. Results latency at 10k / 100k / 1M assigned customers. Results read only the aggregates, so each
  // experiment gets the aggregates that many customers would leave (seeded directly), not raw assignments.
  let resultsNote = '';
  const { resultsRouter } = (await import('../../src/modules/results').catch(() => ({ resultsRouter: undefined }))) as { resultsRouter?: unknown };
  if (!resultsRouter) {
    resultsNote = 'GET /v1/experiments/:key/results does not exist in this build: results latency not measured.';
  } else {
    const aggregates = db().collection<Record<string, unknown> & { _id: string }>('metric_aggregates');
    for (const size of RESULT_SIZES) {
      const key = `bench-results-${size}-${process.pid}`;
      await call('POST', '/v1/experiments', {
        key,
        name: `Results at ${size}`,
        assetType: 'email',
        variants: [
          { key: 'control', weight: 0.5, content: { subject: 'A', html: '<p>A</p>' } },
          { key: 'treatment', weight: 0.5, content: { subject: 'B', html: '<p>B</p>' } },
        ],
        metrics: { primary: 'email_open', secondary: ['email_click', 'csat', 'nps'], guardrails: ['unsubscribe'] },
      });
      await call('POST', `/v1/experiments/${key}/start`);
      const half = size / 2;
      const seed = (variant: string, lift: number) => {
        const rate = (p: number) => Math.round(half * p);
        const binomial = (metric: string, p: number) => ({ metric, units: rate(p), sum: rate(p), sumSquares: rate(p), histogram: {} });
        const csatHistogram = { '1': rate(0.02), '2': rate(0.03), '3': rate(0.05), '4': rate(0.05 + lift), '5': rate(0.05) };
        const npsHistogram = { '0': rate(0.01), '6': rate(0.02), '8': rate(0.03), '9': rate(0.02 + lift), '10': rate(0.02) };
        const survey = (metric: string, histogram: Record<string, number>) => {
          let units = 0;
          let sum = 0;
          let sumSquares = 0;
          for (const [score, count] of Object.entries(histogram)) {
            units += count;
            sum += Number(score) * count;
            sumSquares += Number(score) ** 2 * count;
          }
          return { metric, units, sum, sumSquares, histogram };
        };
        return [
          { metric: '$assigned', units: half, sum: 0, sumSquares: 0, histogram: {} },
          binomial('email_open', 0.3 + lift),
          binomial('email_click', 0.05 + lift / 5),
          binomial('unsubscribe', 0.002),
          survey('csat', csatHistogram),
          survey('nps', npsHistogram),
        ].map((a) => ({ _id: `${key}|${variant}|${a.metric}`, experiment: key, variant, ...a }));
      };
      await aggregates.insertMany([...seed('control', 0), ...seed('treatment', 0.01)]);
      log(`GET /v1/experiments/:key/results at ${fmt(size)} assigned for ${Math.ceil(SECONDS / 2)} s at 1 connection`);
      const results = await run({ url: `${verdict.url}/v1/experiments/${key}/results`, connections: 1, duration: Math.ceil(SECONDS / 2), body: () => '', method: 'GET' });
      if (results['2xx'] === 0) throw new Error(`results at ${size}: no 2xx answer (${results.non2xx} others)`);
      rows.push({
        name: `GET /v1/experiments/:key/results, ${fmt(size)} assigned (requests/s)`,
        rate: fmt(okPerSecond(results)),
        p50: `${results.latency.p50} ms`,
        p99: `${results.latency.p99} ms`,
        baseline: '-',
      });
    }
  }

  const errors = [assign, batch, events].map((r) => r.non2xx + r.errors).reduce((a, b) => a + b, 0);
  const lines = [
    `Machine: ${machine()}`,
    `Database: ${database.embedded ? 'embedded FerretDB v1.24.2 (SQLite) in a temporary DATA_DIR' : 'MONGODB_URI'}`,
    `Settings: ${SECONDS} s a phase; ${CONNECTIONS} connections for single requests, ${BATCH_CONNECTIONS} for batches of ${fmt(BATCH)}; loopback only`,
    '',
    '| measure | Verdict | p50 | p99 | baseline (same run) |',
    '| --- | ---: | ---: | ---: | --- |',
    ...rows.map((r) => `| ${r.name} | ${r.rate} | ${r.p50} | ${r.p99} | ${r.baseline} |`),
    '',
    `Non-2xx answers or errors during the Verdict phases: ${errors}.`,
    ...(resultsNote ? [resultsNote] : []),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);

  // autocannon stops at its deadline with requests still being served: let them finish first.
  await new Promise((resolve) => setTimeout(resolve, 3000));
  await new Promise<void>((resolve) => verdict.server.close(() => resolve()));
  await new Promise<void>((resolve) => baseline.server.close(() => resolve()));
  await disconnectDatabase();
  fs.rmSync(dataDir, { recursive: true, force: true });
}

main().catch((error) => {
  process.stderr.write(`bench failed: ${(error as Error).stack ?? error}\n`);
  process.exitCode = 1;
});
