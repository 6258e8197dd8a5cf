// Issue 8, "Counts you can trust": kill -9 of the database. The service's driver reconnects when the
// database is back, the client retries what failed, and every acknowledged record is counted exactly
// once; records a failed request had stored are counted too (its batch is taken over after
// COUNTING_GRACE_MS), and the client's retry is told they are duplicates: the true ones.
import assert from 'node:assert/strict';
import type { Db } from 'mongodb';
import {
  assertCountedExactlyOnce,
  crashDuringIngest,
  call,
  countRaw,
  countsOfSummary,
  emptyLedger,
  ingest,
  makePlan,
  seeded,
  startExperiment,
  summaryCounting,
  VARIANTS,
  type EventSpec,
  type Summary,
} from '../helpers/ingest';
import { connectMongo, startServiceProcess, startStandaloneDatabase, tempDir, withOutputOnFailure, type ServiceProcess, stoppedAfterEach } from '../helpers/service-process';

describe('counting: kill -9 of the database', function () {
  this.timeout(180_000);
  const keep = stoppedAfterEach();

  it('when the database is killed mid-stream and started again on the same files and port, then every acknowledged record is counted exactly once', async () => {
    const random = seeded(47);
    const database = await startStandaloneDatabase();
    const dbName = 'verdict_dbcrash';
    const service = await startServiceProcess({ dataDir: tempDir('verdict-crash-db-'), dbName, mongodbUri: database.uri });
    keep(database, service);
    await withOutputOnFailure(
      () => [service, database],
      async () => {
        const key = await startExperiment(service.url);
        const plans = [1, 2].map((n) =>
          makePlan({ experiment: key, prefix: `${key}-i${n}`, seed: 470 + n, customers: 1000, eventBatches: 12, batchSize: 600, singlesPerBatch: 3, responsesPerBatch: 10 }),
        );
        const crash = crashDuringIngest(plans[0], random, async () => {
          await database.kill('SIGKILL');
          await new Promise((resolve) => setTimeout(resolve, 1_000));
          await database.restart();
        });
        const ledgers = await Promise.all([
          ingest(key, plans[0], { targets: [service.url], onSent: crash.onSent, onAcknowledged: crash.onAcknowledged }),
          ingest(key, plans[1], { targets: [service.url] }),
        ]);
        assert.ok(crash.started(), 'the database was killed');
        await crash.started();
        // The driver retries a write or read cut by the kill once the database is back, so a call may
        // succeed across the crash (or fail with a 5xx, and the ingester retries it): either way the
        // crash met calls in flight.
        assert.ok(crash.inFlightAtCrash() > 0, 'the database was killed while calls were in flight');
        await assertCountedExactlyOnce(service.url, await connectMongo(database.uri, dbName), key, VARIANTS, ledgers);
      },
    );
  });

  it('when the database dies while a request stores its batch, then after COUNTING_GRACE_MS the events it stored are counted, and the retry reports exactly those as duplicates', async () => {
    const database = await startStandaloneDatabase();
    const dbName = 'verdict_midbatch';
    const service: ServiceProcess | undefined = await startServiceProcess({ dataDir: tempDir('verdict-midbatch-'), dbName, mongodbUri: database.uri });
    keep(database, service);
    await withOutputOnFailure(
      () => [service, database],
      async () => {
        const url = service.url;
        const key = await startExperiment(url);
        const ledger = emptyLedger();
        await ingest(key, makePlan({ experiment: key, prefix: key, seed: 3, customers: 1000, eventBatches: 0, batchSize: 0 }), { targets: [url], ledger });
        const customers = [...ledger.assigned.keys()];
        const random = seeded(5);
        let serial = 0;
        const batchOf = (n: number): EventSpec[] =>
          Array.from({ length: n }, () => {
            const name = random() < 0.5 ? 'purchase' : 'email.open';
            const e: EventSpec = { eventId: `${key}-m${serial++}`, customerId: customers[Math.floor(random() * customers.length)], name, experiment: key };
            if (name === 'purchase') e.value = (1 + Math.floor(random() * 40)) * 0.5;
            return e;
          });
        const acknowledge = (events: EventSpec[], body: { accepted: number; duplicates: number }) => {
          for (const e of events) ledger.events.set(e.eventId, e);
          ledger.accepted += body.accepted;
          ledger.duplicates += body.duplicates;
        };
        let database_: Db | undefined;
        const raw = async () => (database_ ??= await connectMongo(database.uri, dbName));
        let partial = 0;
        let storedUnanswered = 0;
        for (let attempt = 0; attempt < 4 && partial === 0; attempt++) {
          const events = batchOf(5000);
          const sent = call(url, 'POST', '/v1/events', { events }).catch((error: unknown) => ({ status: 0, body: String(error) }));
          // The moment: as soon as the first of its events is stored (FerretDB stores a batch 100 at a time).
          const rawEvents = (await raw()).collection<{ _id: string }>('events');
          const deadline = Date.now() + 20_000;
          while (!(await rawEvents.findOne({ _id: events[0].eventId }, { projection: { _id: 1 } })) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 2));
          await database.kill('SIGKILL');
          const answer = await sent;
          await new Promise((resolve) => setTimeout(resolve, 1_000));
          await database.restart();
          if (answer.status === 202) {
            acknowledge(events, answer.body);
            continue;
          }
          assert.ok(answer.status === 0 || answer.status >= 500, `a failed store answers 5xx: ${answer.status} ${JSON.stringify(answer.body)}`);
          const ids = new Set(events.map((e) => e.eventId));
          const stored = (await (await raw()).collection('events').find({ experiment: key }, { projection: { _id: 1 } }).toArray()).filter((d) => ids.has(d._id as unknown as string)).length;
          // What is stored is counted, acknowledged or not (once the dead request's batch is taken over).
          const fromRaw = (await countRaw(await raw(), key, VARIANTS)).counts;
          const summary = await summaryCounting(url, key, fromRaw);
          assert.deepEqual(countsOfSummary(summary), fromRaw, `the ${stored} events stored by the failed request are counted`);
          // The retry is told the truth: the stored ones are duplicates, the rest are new.
          const retry = await call(url, 'POST', '/v1/events', { events });
          assert.equal(retry.status, 202, JSON.stringify(retry.body));
          assert.deepEqual(retry.body, { accepted: events.length - stored, duplicates: stored });
          acknowledge(events, retry.body);
          storedUnanswered += stored;
          if (stored > 0) partial = stored;
        }
        assert.ok(partial > 0, 'a request failed after storing part of its batch (the kill came mid-store)');
        assert.equal(ledger.accepted + storedUnanswered, ledger.events.size, 'each event was accepted once, or stored by a failed call and then reported a duplicate');
        await assertCountedExactlyOnce(url, await raw(), key, VARIANTS, [ledger]);
      },
    );
  });
  it('when the client retries at once after a request died mid-store, then the retry reports the stored ones as duplicates and a read right after it counts them (no waiting for the grace period)', async () => {
    const database = await startStandaloneDatabase();
    const dbName = 'verdict_retry_at_once';
    // A grace period far longer than the test: only the retry can get the dead request's batch counted.
    const service: ServiceProcess = await startServiceProcess({ dataDir: tempDir('verdict-retry-'), dbName, mongodbUri: database.uri, env: { COUNTING_GRACE_MS: '600000' } });
    keep(database, service);
    await withOutputOnFailure(
      () => [service, database],
      async () => {
        const url = service.url;
        const key = await startExperiment(url);
        const ledger = emptyLedger();
        await ingest(key, makePlan({ experiment: key, prefix: key, seed: 7, customers: 500, eventBatches: 0, batchSize: 0 }), { targets: [url], ledger });
        const customers = [...ledger.assigned.keys()];
        const rawDb = await connectMongo(database.uri, dbName);
        let checked = false;
        for (let attempt = 0; attempt < 4 && !checked; attempt++) {
          const events: EventSpec[] = Array.from({ length: 5000 }, (_, i) => ({
            eventId: `${key}-r${attempt}-${i}`,
            customerId: customers[(i * 31) % customers.length],
            name: i % 2 ? 'purchase' : 'email.open',
            experiment: key,
            ...(i % 2 ? { value: ((i % 40) + 1) * 0.25 } : {}),
          }));
          const sent = call(url, 'POST', '/v1/events', { events }).catch((error: unknown) => ({ status: 0, body: String(error) }));
          const rawEvents = rawDb.collection<{ _id: string }>('events');
          const deadline = Date.now() + 20_000;
          while (!(await rawEvents.findOne({ _id: events[0].eventId }, { projection: { _id: 1 } })) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 2));
          await database.kill('SIGKILL');
          const answer = await sent;
          await database.restart();
          if (answer.status === 202) continue;
          const ids = new Set(events.map((e) => e.eventId));
          const stored = (await rawEvents.find({ experiment: key }, { projection: { _id: 1 } }).toArray()).filter((d) => ids.has(d._id)).length;
          if (stored === 0) continue;
          let retry = await call(url, 'POST', '/v1/events', { events });
          for (let i = 0; i < 50 && retry.status !== 202; i++) {
            await new Promise((resolve) => setTimeout(resolve, 200)); // the service's driver reconnecting
            retry = await call(url, 'POST', '/v1/events', { events });
          }
          assert.equal(retry.status, 202, JSON.stringify(retry.body));
          assert.deepEqual(retry.body, { accepted: events.length - stored, duplicates: stored });
          // One read, right after the retry's 2xx: it waits for what is acknowledged, and that includes
          // what the dead request stored.
          const summary = (await call(url, 'GET', `/v1/experiments/${key}/summary`)).body as Summary & { complete: boolean };
          const fromRaw = (await countRaw(rawDb, key, VARIANTS)).counts;
          assert.equal(summary.complete, true);
          assert.deepEqual(countsOfSummary(summary), fromRaw, `the ${stored} events the dead request stored are counted at once`);
          checked = true;
        }
        assert.ok(checked, 'a request died after storing part of its batch');
      },
    );
  });
});
