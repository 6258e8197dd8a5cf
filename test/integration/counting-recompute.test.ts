// Issue 8, "Counts you can trust": POST .../recompute while ingestion goes on loses nothing and counts
// nothing twice (it used to answer 409 and leave the summary at 100 of 1,600 acknowledged events), and
// a recompute of a quiet experiment changes nothing.
import assert from 'node:assert/strict';
import { db } from '../../src/db/connection';
import { assertCountedExactlyOnce, call, ingest, makePlan, settledSummary, startExperiment, VARIANTS, type Summary } from '../helpers/ingest';
import { serveTestApp } from '../helpers/service-process';

/** The variants part of a summary, with zero histogram entries dropped (a replaced answer leaves them). */
function variantsOf(summary: Summary) {
  return summary.variants.map((v) => ({
    ...v,
    metrics: Object.fromEntries(
      Object.entries(v.metrics).map(([metric, { histogram, ...numbers }]) => {
        const kept = Object.fromEntries(Object.entries(histogram ?? {}).filter(([, count]) => count !== 0));
        return [metric, Object.keys(kept).length > 0 ? { ...numbers, histogram: kept } : numbers];
      }),
    ),
  }));
}

describe('counting: recompute under load', function () {
  this.timeout(180_000);

  it('when recompute is called several times while two clients send assignments, events and answers, then the summary equals the independent counts, and a final recompute leaves it identical', async () => {
    const url = await serveTestApp();
    const key = await startExperiment(url);
    const plans = [1, 2].map((n) => makePlan({ experiment: key, prefix: `${key}-i${n}`, seed: 60 + n, customers: 800, eventBatches: 10, batchSize: 500, singlesPerBatch: 3, responsesPerBatch: 10 }));
    const firstEvents = plans[0].findIndex((op) => op.kind === 'events');
    const recomputes: Promise<{ status: number; body: unknown }>[] = [];
    const ledgers = await Promise.all([
      ingest(key, plans[0], {
        targets: [url],
        // A recompute after the first batch of events, and then after every fifth call, not awaited: ingestion goes on.
        onAcknowledged: (index) => {
          if (index >= firstEvents && (index - firstEvents) % 5 === 0) recomputes.push(call(url, 'POST', `/v1/experiments/${key}/recompute`, undefined, 120_000));
        },
      }),
      ingest(key, plans[1], { targets: [url] }),
    ]);
    assert.ok(recomputes.length >= 4, `recomputed ${recomputes.length} times during ingestion`);
    for (const answer of await Promise.all(recomputes)) assert.equal(answer.status, 200, JSON.stringify(answer.body));

    const counted = await assertCountedExactlyOnce(url, db(), key, VARIANTS, ledgers);
    const final = await call(url, 'POST', `/v1/experiments/${key}/recompute`, undefined, 120_000);
    assert.equal(final.status, 200, JSON.stringify(final.body));
    assert.equal(final.body.recomputed.assigned, ledgers[0].assigned.size + ledgers[1].assigned.size);
    assert.deepEqual(variantsOf(await settledSummary(url, key)), variantsOf(counted), 'a recompute of a quiet experiment changes nothing');
  });
});
