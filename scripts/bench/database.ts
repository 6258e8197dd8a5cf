// Database benchmark: what the embedded FerretDB (and MONGODB_URI, when set) costs for the writes and
// lookups the service does, and what Verdict's FerretDB patch (docs/embedded-database.md) costs or saves.
//  - insertMany, 1,000 documents a call, 4 concurrent clients: documents/s;
//  - updateOne {$inc} by _id on distinct documents, 8 concurrent clients: updates/s, p50/p99;
//  - updateOne {$inc} by _id on one hot document, 8 concurrent clients: updates/s, p50/p99, and how many
//    acknowledged increments the document lacks afterwards (lost updates);
//  - 1,000 ids (of a 20,000-document collection) found with one find({_id: {$in: ids}}), beside 1,000
//    point lookups (findOne by _id, 16 in flight, as src/db/find-each.ts does), with SQLite's query plan.
// Starts its own embedded database in a temporary folder, on loopback; every phase is bounded in time.
//   npm run bench:db   or   npx tsx scripts/bench/database.ts [seconds=5] [--binary path/to/ferretdb]
// --binary runs another FerretDB build (e.g. one built from the unpatched source) instead of the cached one.
import fs from 'node:fs';
import os from 'node:os';
import { machine, percentileOfSorted } from './machine';
import path from 'node:path';
import { MongoClient, type Db } from 'mongodb';
import { getConfig } from '../../config';
import { startEmbeddedDatabase } from '../../src/db/embedded-ferretdb';

process.env.LOG_LEVEL ??= 'warn';
process.env.NODE_ENV ??= 'test';
process.env.ADMIN_API_KEY ??= 'bench-admin-key-0123456789abcdef';
process.env.TRACKING_SECRET ??= 'bench-tracking-secret-0123456789abcdef0123456789';
process.env.PUBLIC_BASE_URL ??= 'https://verdict.bench';

const args = process.argv.slice(2);
const binaryFlag = args.indexOf('--binary');
const binary = binaryFlag >= 0 ? path.resolve(args.splice(binaryFlag, 2)[1]) : undefined;
const SECONDS = Number(args[0] ?? 5);
const BATCH = 1000;
const INSERT_CLIENTS = 4;
const UPDATE_CLIENTS = 8;
const LOOKUP_DOCS = 20_000;
const LOOKUP_IDS = 1000;

interface Row {
  name: string;
  rate: string;
  p50: string;
  p99: string;
  note: string;
}


const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const ms = (n: number) => `${n < 10 ? n.toFixed(1) : Math.round(n)} ms`;

const percentile = percentileOfSorted;

/** Runs `op` in `workers` loops for `seconds`; returns the count of operations and their latencies. */
async function timed(workers: number, seconds: number, op: (worker: number, i: number) => Promise<void>) {
  const latencies: number[] = [];
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: workers }, async (_, worker) => {
      for (let i = 0; performance.now() < deadline; i++) {
        const t = performance.now();
        await op(worker, i);
        latencies.push(performance.now() - t);
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { count: latencies.length, elapsed, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

async function clients(uri: string, n: number): Promise<MongoClient[]> {
  return Promise.all(Array.from({ length: n }, () => new MongoClient(uri, { maxPoolSize: 2 }).connect()));
}

async function bench(uri: string, dbName: string): Promise<{ rows: Row[]; plan: string }> {
  const rows: Row[] = [];
  const pool = await clients(uri, UPDATE_CLIENTS);
  const dbs: Db[] = pool.map((c) => c.db(dbName));
  try {
    // insertMany, 1,000 documents a call
    let next = 0;
    const inserts = await timed(INSERT_CLIENTS, SECONDS, async (worker) => {
      const docs = Array.from({ length: BATCH }, () => ({
        _id: `e-${next++}`,
        customerId: `c-${next % 50_000}`,
        name: 'email.open',
        at: new Date(),
        props: { campaign: 'spring', variant: next % 2 ? 'a' : 'b' },
      }));
      await dbs[worker].collection<{ _id: string }>('bench_inserts').insertMany(docs, { ordered: false });
    });
    rows.push({
      name: `insertMany, ${fmt(BATCH)} docs a call, ${INSERT_CLIENTS} clients (docs/s)`,
      rate: fmt((inserts.count * BATCH) / inserts.elapsed),
      p50: ms(inserts.p50),
      p99: ms(inserts.p99),
      note: `${fmt(inserts.count * BATCH)} docs`,
    });

    // updateOne $inc on distinct documents (each client its own range of a 20,000-document collection)
    const lookup = dbs[0].collection<{ _id: string; n: number; pad: string }>('bench_docs');
    for (let i = 0; i < LOOKUP_DOCS; i += BATCH) {
      await lookup.insertMany(Array.from({ length: BATCH }, (_, k) => ({ _id: `d-${i + k}`, n: 0, pad: 'x'.repeat(200) })));
    }
    await new Promise((resolve) => setTimeout(resolve, 2000)); // the wrapper indexes new tables every second
    const perWorker = LOOKUP_DOCS / UPDATE_CLIENTS;
    const distinct = await timed(UPDATE_CLIENTS, SECONDS, async (worker, i) => {
      await dbs[worker].collection<{ _id: string; n: number }>('bench_docs').updateOne({ _id: `d-${worker * perWorker + (i % perWorker)}` }, { $inc: { n: 1 } });
    });
    rows.push({
      name: `updateOne $inc by _id, distinct docs, ${UPDATE_CLIENTS} clients (updates/s)`,
      rate: fmt(distinct.count / distinct.elapsed),
      p50: ms(distinct.p50),
      p99: ms(distinct.p99),
      note: `${fmt(distinct.count)} updates`,
    });

    // updateOne $inc on one hot document
    await dbs[0].collection<{ _id: string; n: number }>('bench_hot').insertOne({ _id: 'hot', n: 0 });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const hot = await timed(UPDATE_CLIENTS, SECONDS, async (worker) => {
      await dbs[worker].collection<{ _id: string; n: number }>('bench_hot').updateOne({ _id: 'hot' }, { $inc: { n: 1 } });
    });
    const stored = (await dbs[0].collection<{ _id: string; n: number }>('bench_hot').findOne({ _id: 'hot' }))?.n ?? 0;
    rows.push({
      name: `updateOne $inc by _id, one hot doc, ${UPDATE_CLIENTS} clients (updates/s)`,
      rate: fmt(hot.count / hot.elapsed),
      p50: ms(hot.p50),
      p99: ms(hot.p99),
      note: `${fmt(hot.count)} acknowledged, ${fmt(hot.count - stored)} lost`,
    });

    // 1,000 ids: one $in query vs 1,000 point lookups (ids spread over the collection, all present)
    const ids = Array.from({ length: LOOKUP_IDS }, (_, i) => `d-${Math.floor((i * LOOKUP_DOCS) / LOOKUP_IDS) + 7}`);
    const inQuery = await timed(1, SECONDS, async () => {
      const found = await lookup.find({ _id: { $in: ids } }).toArray();
      if (found.length !== LOOKUP_IDS) throw new Error(`$in found ${found.length} of ${LOOKUP_IDS}`);
    });
    rows.push({
      name: `find _id $in ${fmt(LOOKUP_IDS)} ids, ${fmt(LOOKUP_DOCS)} docs (lookups of 1,000/s)`,
      rate: (inQuery.count / inQuery.elapsed).toFixed(1),
      p50: ms(inQuery.p50),
      p99: ms(inQuery.p99),
      note: `${inQuery.count} runs`,
    });
    const points = await timed(1, SECONDS, async () => {
      let next = 0;
      let found = 0;
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (next < ids.length) if (await lookup.findOne({ _id: ids[next++] })) found++;
        }),
      );
      if (found !== LOOKUP_IDS) throw new Error(`point lookups found ${found} of ${LOOKUP_IDS}`);
    });
    rows.push({
      name: `${fmt(LOOKUP_IDS)} findOne by _id, 16 in flight (lookups of 1,000/s)`,
      rate: (points.count / points.elapsed).toFixed(1),
      p50: ms(points.p50),
      p99: ms(points.p99),
      note: `${points.count} runs`,
    });

    let plan = '';
    try {
      const explained = await dbs[0].command({ explain: { find: 'bench_docs', filter: { _id: { $in: ids.slice(0, 3) } } } });
      const planner = (explained as { queryPlanner?: { Plan?: unknown; winningPlan?: { stage?: unknown } } }).queryPlanner;
      plan = JSON.stringify(planner?.Plan ?? planner?.winningPlan?.stage ?? planner);
    } catch (error) {
      plan = `explain failed: ${(error as Error).message}`;
    }
    return { rows, plan };
  } finally {
    await dbs[0].dropDatabase().catch(() => undefined);
    await Promise.all(pool.map((c) => c.close()));
  }
}

function print(title: string, result: { rows: Row[]; plan: string }): void {
  process.stdout.write(`\n${title}\n\n| measure | rate | p50 | p99 | note |\n| --- | ---: | ---: | ---: | --- |\n`);
  for (const r of result.rows) process.stdout.write(`| ${r.name} | ${r.rate} | ${r.p50} | ${r.p99} | ${r.note} |\n`);
  process.stdout.write(`\nquery plan of find({_id: {$in: [3 ids]}}): ${result.plan}\n`);
}

async function main(): Promise<void> {
  process.stdout.write(`machine: ${machine()}\nphases: ${SECONDS} s each\n`);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'verdict-bench-db-'));
  const dbName = `verdict_bench_db_${process.pid}`;
  try {
    const embedded = await startEmbeddedDatabase({ dataDir, cacheDir: getConfig().ferretDbCacheDir, binary });
    try {
      print(`embedded FerretDB v1.24.2 (SQLite), ${binary ? `binary ${binary}` : 'cached (patched) build'}`, await bench(embedded.uri, dbName));
    } finally {
      await embedded.stop();
    }
    const external = process.env.MONGODB_URI;
    if (external) print('MONGODB_URI', await bench(external, dbName));
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
