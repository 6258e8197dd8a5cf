// Issue 8, "Counts you can trust": kill -9 of the service while a client ingests. Every record the
// client saw acknowledged (2xx) is counted exactly once after the restart, compared with counts computed
// independently from the acknowledged calls and from the raw records.
import assert from 'node:assert/strict';
import { getConfig } from '../../config';
import { startEmbeddedDatabase } from '../../src/db/embedded-ferretdb';
import { assertCountedExactlyOnce, call, countingExperiment, crashDuringIngest, ingest, makePlan, planOf, seeded, startExperiment, VARIANTS } from '../helpers/ingest';
import { registerStopper } from '../helpers/resources';
import { connectMongo, startServiceProcess, startStandaloneDatabase, tempDir, withOutputOnFailure, type ServiceProcess, stoppedAfterEach } from '../helpers/service-process';

describe('counting: kill -9 of the service while a client ingests', function () {
  this.timeout(180_000);
  const keep = stoppedAfterEach();

  const cases = [
    { seed: 11, database: 'embedded' as const, what: 'its own embedded database (which goes down with it)' },
    { seed: 29, database: 'standalone' as const, what: 'a database of its own process (which stays up)' },
    { seed: 37, database: 'standalone' as const, what: 'a database of its own process, for an experiment with a dimension and CUPED,', segments: true },
  ];
  for (const c of cases) {
    it(`when the service on ${c.what} is killed mid-stream (seed ${c.seed}) and restarted, then every acknowledged record is counted exactly once`, async () => {
      const random = seeded(c.seed);
      const dataDir = tempDir('verdict-crash-service-');
      const database = c.database === 'standalone' ? await startStandaloneDatabase() : undefined;
      const dbName = 'verdict_crash';
      let service: ServiceProcess = await startServiceProcess({ dataDir, dbName, ...(database ? { mongodbUri: database.uri } : {}) });
      const started: ServiceProcess[] = [service];
      keep(...(database ? [database] : []), service);
      await withOutputOnFailure(() => [...started, database], async () => {
      const key = await startExperiment(service.url, c.segments ? countingExperiment({ dimensions: ['plan'], analysis: { cuped: { lookback: 'P1D' } } }) : undefined);

      const plans = [1, 2].map((n) =>
        makePlan({ experiment: key, prefix: `${key}-i${n}`, seed: c.seed * 10 + n, customers: 1000, eventBatches: 12, batchSize: 600, singlesPerBatch: 3, responsesPerBatch: 10 }),
      );
      // The moment: after the first attempt of a seeded call of the first ingester is sent, a seeded delay later.
      const crash = crashDuringIngest(plans[0], random, async () => {
        await service.kill('SIGKILL');
        service = await startServiceProcess({ dataDir, dbName, port: service.port, ...(database ? { mongodbUri: database.uri } : {}) });
        started.push(service);
        keep(service);
      });
      const target = [service.url];
      const ledgers = await Promise.all([ingest(key, plans[0], { targets: target, onSent: crash.onSent }), ingest(key, plans[1], { targets: target })]);
      assert.ok(crash.started(), 'the service was killed');
      await crash.started();
      assert.ok(ledgers[0].retries + ledgers[1].retries > 0, 'the ingesters saw the service die and retried');

      const openDatabase = async () => {
        if (database) return connectMongo(database.uri, dbName);
        // The embedded database belongs to the service: read its files once the service has let them go.
        await service.stop();
        const reader = await startEmbeddedDatabase({ dataDir, cacheDir: getConfig().ferretDbCacheDir });
        registerStopper(() => reader.stop());
        keep(reader);
        return connectMongo(reader.uri, dbName);
      };
      const summary = await assertCountedExactlyOnce(service.url, openDatabase, key, VARIANTS, ledgers);
      const total = summary.variants.reduce((sum, v) => sum + v.assigned, 0);
      assert.equal(total, ledgers[0].assigned.size + ledgers[1].assigned.size);
      if (c.segments) {
        // Every slice counts its acknowledged customers exactly once, and the slices add up to the whole.
        const assigned = new Map(ledgers.flatMap((l) => [...l.assigned]));
        const answer = await call(service.url, 'GET', `/v1/experiments/${key}/results?dimension=plan`);
        assert.equal(answer.status, 200, JSON.stringify(answer.body));
        const sliced = answer.body as { slices: { value: string; variants: { variant: string; assigned: number }[]; metrics: { metric: string; variants: { variant: string; units: number; value: number | null }[] }[] }[] };
        const whole = (await call(service.url, 'GET', `/v1/experiments/${key}/results`)).body as (typeof sliced.slices)[number];
        for (const slice of sliced.slices) {
          for (const v of slice.variants) {
            const expected = [...assigned].filter(([customer, variant]) => variant === v.variant && (planOf(customer) ?? '(none)') === slice.value).length;
            assert.equal(v.assigned, expected, `slice ${slice.value}, ${v.variant}`);
          }
        }
        const opens = (m: { metrics: typeof whole.metrics }, variant: string) => {
          const e = m.metrics.find((x) => x.metric === 'email_open')!.variants.find((x) => x.variant === variant)!;
          return Math.round((e.value ?? 0) * e.units);
        };
        for (const variant of VARIANTS) assert.equal(sliced.slices.reduce((sum, s) => sum + opens(s, variant), 0), opens(whole, variant), `opens of ${variant}: slices add up to the whole`);
      }
      await service.stop();
      });
    });
  }
});
