// Issue 8, "Counts you can trust": several service instances on one database. One aggregator at a time
// (a lease in job_leases), the others only ingest; events split between them are counted exactly; the
// same customer gets the same variant from either; a second instance starting mid-ingest does not wipe
// counts (start-up used to rebuild the aggregates); when the lease holder dies, the other takes over.
import assert from 'node:assert/strict';
import type { Db } from 'mongodb';
import {
  assertCountedExactlyOnce,
  call,
  countsOfSummary,
  emptyLedger,
  ingest,
  makePlan,
  seeded,
  settledSummary,
  startExperiment,
  VARIANTS,
  type Counts,
  type Ledger,
} from '../helpers/ingest';
import { connectMongo, startServiceProcess, startStandaloneDatabase, tempDir, withOutputOnFailure, type ServiceProcess, stoppedAfterEach } from '../helpers/service-process';

interface Lease {
  _id: string;
  holder: string;
  until: Date;
  epoch: number;
}

function readLease(database: Db): Promise<Lease | null> {
  return database.collection<Lease>('job_leases').findOne({ _id: 'aggregator' });
}

const holderPid = (lease: Lease | null) => (lease ? Number(lease.holder.split('-')[0]) : undefined);

/** Every number of `later` is at least the one in `earlier` (nothing counted was wiped). */
function assertNoneLower(earlier: Record<string, Counts>, later: Record<string, Counts>, what: string): void {
  for (const [variant, before] of Object.entries(earlier)) {
    const after = later[variant];
    const pairs: [string, number, number][] = [
      ['assigned', before.assigned, after.assigned],
      ['email_open', before.email_open, after.email_open],
      ['email_click', before.email_click, after.email_click],
      ['spend.units', before.spend.units, after.spend.units],
      ['spend.sum', before.spend.sum, after.spend.sum],
      ['csat.units', before.csat.units, after.csat.units],
    ];
    for (const [field, b, a] of pairs) assert.ok(a >= b, `${what}: ${variant} ${field} went from ${b} down to ${a}`);
  }
}

describe('counting: two service instances on one database', function () {
  this.timeout(240_000);
  const keep = stoppedAfterEach();

  it('when a second instance starts mid-ingest and both ingest, then one holds the aggregator lease, nothing counted is wiped, assignments agree, counts are exact; when the holder is killed, the other takes over within 30 s and counts stay exact', async () => {
    const database = await startStandaloneDatabase();
    const dbName = 'verdict_two';
    const raw = await connectMongo(database.uri, dbName);
    const a = await startServiceProcess({ dataDir: tempDir('verdict-two-a-'), dbName, mongodbUri: database.uri });
    keep(database, a);
    let b: ServiceProcess | undefined;
    await withOutputOnFailure(
      () => [a, b, database],
      async () => {
        const key = await startExperiment(a.url);
        const plan = (n: number, eventBatches: number) =>
          makePlan({ experiment: key, prefix: `${key}-i${n}`, seed: 90 + n, customers: 1000, eventBatches, batchSize: 800, singlesPerBatch: 3, responsesPerBatch: 10 });
        const plans = [plan(1, 10), plan(2, 10)];

        // Who holds the aggregator lease, sampled all along.
        const leases: (Lease | null)[] = [];
        let sampling = true;
        const sampler = (async () => {
          while (sampling) {
            leases.push(await readLease(raw).catch(() => null));
            await new Promise((resolve) => setTimeout(resolve, 250));
          }
        })();
        keep({
          stop: async () => {
            sampling = false;
            await sampler;
          },
        });

        // The second instance starts while the first ingests (after its assignments and 3 event batches).
        const startBAfter = plans[0].findIndex((op) => op.kind === 'events') + 2;
        let before: Record<string, Counts> | undefined;
        let bStarted: Promise<ServiceProcess> | undefined;
        const first = ingest(key, plans[0], {
          targets: [a.url],
          onAcknowledged: async (index) => {
            if (index !== startBAfter) return;
            before = countsOfSummary(await settledSummary(a.url, key));
            assert.ok(Object.values(before).some((c) => c.email_open > 0), 'some events are counted before the second instance starts');
            bStarted = startServiceProcess({ dataDir: tempDir('verdict-two-b-'), dbName, mongodbUri: database.uri });
          },
        });
        while (!bStarted) await new Promise((resolve) => setTimeout(resolve, 20));
        b = await bStarted;
        keep(b);
        const bLeasesFrom = leases.length;
        // Counts right after the start of the second instance: none lower than before it (nothing wiped).
        assertNoneLower(before!, countsOfSummary(await settledSummary(a.url, key)), 'read on the first instance');
        assertNoneLower(before!, countsOfSummary(await settledSummary(b.url, key)), 'read on the second instance');

        const second = ingest(key, plans[1], { targets: [b.url] });
        // The same customers assigned on both instances, at once: the same variants.
        const shared = emptyLedger();
        const customers = Array.from({ length: 400 }, (_, i) => ({ customerId: `${key}-shared-${i}` }));
        const [onA, onB] = await Promise.all([
          call(a.url, 'POST', '/v1/assignments/batch', { experiment: key, customers }),
          call(b.url, 'POST', '/v1/assignments/batch', { experiment: key, customers }),
        ]);
        assert.equal(onA.status, 200, JSON.stringify(onA.body));
        assert.equal(onB.status, 200, JSON.stringify(onB.body));
        const variantsOf = (body: { assignments: { customerId: string; variant: string }[] }) => body.assignments.map((x) => [x.customerId, x.variant]);
        assert.deepEqual(variantsOf(onB.body), variantsOf(onA.body), 'both instances give every customer the same variant');
        for (const x of onA.body.assignments as { customerId: string; variant: string }[]) shared.assigned.set(x.customerId, x.variant);

        const ledgers: Ledger[] = await Promise.all([first, second]);
        // Customers the first instance assigned, asked on the second: sticky, same variant.
        for (const customerId of [...ledgers[0].assigned.keys()].slice(0, 20)) {
          const answer = await call(b.url, 'POST', '/v1/assignments', { experiment: key, customerId });
          assert.equal(answer.status, 200);
          assert.equal(answer.body.variant, ledgers[0].assigned.get(customerId));
          assert.equal(answer.body.reason, 'sticky');
        }
        await assertCountedExactlyOnce(a.url, raw, key, VARIANTS, [...ledgers, shared]);
        await assertCountedExactlyOnce(b.url, raw, key, VARIANTS, [...ledgers, shared]);

        // One aggregator: the lease stayed with the first instance while both ran, never free, never shared.
        const bothRunning = leases.slice(bLeasesFrom);
        assert.ok(bothRunning.length > 5, `lease sampled while both ran (${bothRunning.length} samples)`);
        for (const lease of bothRunning) assert.equal(holderPid(lease), a.pid, `the aggregator lease is held by the first instance: ${JSON.stringify(lease)}`);
        assert.equal(new Set(bothRunning.map((l) => l!.epoch)).size, 1, 'the lease never changed hands while both ran');

        // kill -9 of the lease holder while a client ingests (through either instance): the other takes over.
        const third = plan(3, 4);
        const killAt = third.findIndex((op) => op.kind === 'events') + Math.floor(seeded(7)() * 3);
        let killedAt = 0;
        let killed: Promise<void> | undefined;
        const ingested = ingest(key, third, {
          targets: [a.url, b.url],
          onSent: (index) => {
            if (index !== killAt || killed) return;
            killed = a.kill('SIGKILL').then(() => {
              killedAt = Date.now();
            });
          },
        });
        const thirdLedger = await ingested;
        assert.ok(killed, 'the lease holder was killed');
        await killed;
        let lease = await readLease(raw);
        while (holderPid(lease) !== b.pid && Date.now() - killedAt < 30_000) {
          await new Promise((resolve) => setTimeout(resolve, 200));
          lease = await readLease(raw);
        }
        assert.equal(holderPid(lease), b.pid, `the second instance holds the aggregator lease within 30 s of the kill: ${JSON.stringify(lease)}`);
        sampling = false;
        await sampler;
        await assertCountedExactlyOnce(b.url, raw, key, VARIANTS, [...ledgers, shared, thirdLedger]);
      },
    );
  });
});
