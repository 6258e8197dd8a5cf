import assert from 'node:assert/strict';
import { getConfig } from '../../config';
import { experimentsService } from '../../src/modules/experiments';
import { runDueLooks } from '../../src/modules/results';
import { api, type Api } from '../helpers/app';
import { emailExperiment, experimentWithClearWinner, runningExperiment } from '../helpers/factories';
import { testSettings } from '../helpers/wiring';
import { assignCustomers, eventsAtRates, metricOf, sendEvents, sequentialExperimentWithEffect, type MetricBody } from './results.helpers';

/** What a look may write on the experiment; reads must leave all of it as it was. */
async function storedLookState(key: string) {
  const record = await experimentsService.getRecord(key);
  return { sequential: record.sequential, lastLookAt: record.lastLookAt, updatedAt: record.updatedAt, history: record.history.length };
}

describe('results looks', () => {
  let client: Api;
  const interval = () => getConfig().lookIntervalMs;
  before(async () => {
    client = await api();
  });

  it('when the method is sequential, then two looks record a running minimum that never rises, and GET results alone changes nothing stored', async () => {
    const { key } = await sequentialExperimentWithEffect(client);

    // Reads: results, CSV and again; nothing the analysis would store is stored.
    const unread = await storedLookState(key);
    assert.equal(unread.sequential, undefined);
    assert.equal(unread.lastLookAt, undefined);
    const read1 = (await client.get(`/v1/experiments/${key}/results`).expect(200)).body as { metrics: MetricBody[] };
    await client.get(`/v1/experiments/${key}/results.csv`).expect(200);
    await client.get(`/v1/experiments/${key}/results`).expect(200);
    assert.deepEqual(await storedLookState(key), unread, 'GET results stores nothing');
    const open1 = metricOf(read1, 'email_open').comparisons[0];

    // First look: the running minima and the tuned τ² of the mean metric are recorded.
    const t0 = new Date();
    assert.ok((await runDueLooks(t0, testSettings().looks)) >= 1);
    const look1 = await storedLookState(key);
    assert.equal(look1.lastLookAt?.getTime(), t0.getTime());
    assert.equal(look1.sequential!['email_open|friendly'], open1.pValue);
    assert.equal(typeof look1.sequential!['spend|friendly'], 'number');
    assert.equal(typeof look1.sequential!['spend|~tau2'], 'number');
    assert.equal(look1.updatedAt.getTime(), unread.updatedAt.getTime(), 'a look is not an edit');

    // A second wave with no difference: this look's own p-value is weaker than the stored one.
    const second = await assignCustomers(client, key, 400, key, 400);
    await sendEvents(client, key, eventsAtRates(second, 'email.open', { control: 0.3, friendly: 0.3 }));
    const read2 = (await client.get(`/v1/experiments/${key}/results`).expect(200)).body as { metrics: MetricBody[] };
    assert.ok(metricOf(read2, 'email_open').comparisons[0].fixedHorizonPValue! > open1.fixedHorizonPValue!);
    assert.deepEqual(await storedLookState(key), look1, 'GET results stores nothing, also after a look');

    // Within the interval the schedule takes no look; one interval later it does, and no minimum rises.
    await runDueLooks(new Date(t0.getTime() + interval() / 2), testSettings().looks);
    assert.deepEqual(await storedLookState(key), look1, 'at most one scheduled look per interval');
    const t1 = new Date(t0.getTime() + interval());
    await runDueLooks(t1, testSettings().looks);
    const look2 = await storedLookState(key);
    assert.equal(look2.lastLookAt?.getTime(), t1.getTime());
    assert.deepEqual(Object.keys(look2.sequential!).sort(), Object.keys(look1.sequential!).sort());
    for (const [field, value] of Object.entries(look2.sequential!)) assert.ok(value <= look1.sequential![field], `${field} rose from ${look1.sequential![field]} to ${value}`);
    assert.equal(look2.sequential!['email_open|friendly'], look1.sequential!['email_open|friendly']);
    assert.equal(look2.sequential!['spend|~tau2'], look1.sequential!['spend|~tau2'], 'τ² stays as first tuned');
    const shown = (await client.get(`/v1/experiments/${key}/results`).expect(200)).body as { metrics: MetricBody[] };
    assert.equal(metricOf(shown, 'email_open').comparisons[0].pValue, look1.sequential!['email_open|friendly']);
  });

  it('when minima are recorded concurrently and out of order, then the stored minimum is the lowest and never rises', async () => {
    const key = await runningExperiment(client, emailExperiment({ analysis: { method: 'sequential' } }));
    await Promise.all([0.5, 0.2, 0.4, 0.3, 0.25, 0.45].map((p) => experimentsService.recordSequentialMinima(key, { 'email_open|friendly': p, 'email_click|friendly': 1 - p })));
    await experimentsService.recordSequentialMinima(key, { 'email_open|friendly': 0.9 });
    const { sequential } = await experimentsService.getRecord(key);
    assert.deepEqual(sequential, { 'email_open|friendly': 0.2, 'email_click|friendly': 0.5 });
  });

  it('when several instances claim the same look at once, then exactly one gets it', async () => {
    const key = await runningExperiment(client, emailExperiment());
    const now = new Date();
    const claims = await Promise.all(Array.from({ length: 8 }, () => experimentsService.claimLook(key, ['running', 'paused'], now, interval())));
    assert.equal(claims.filter(Boolean).length, 1, JSON.stringify(claims));
    assert.equal((await experimentsService.getRecord(key)).lastLookAt?.getTime(), now.getTime());
  });

  it('when an experiment is stopped, then the schedule leaves it alone; a rollout still records its own look', async () => {
    const { key } = await experimentWithClearWinner(client);
    await client.post(`/v1/experiments/${key}/stop`).expect(200);
    await runDueLooks(new Date(), testSettings().looks);
    assert.equal((await experimentsService.getRecord(key)).lastLookAt, undefined);
    const before = Date.now();
    await client.post(`/v1/experiments/${key}/rollout`).send({}).expect(200);
    const lastLookAt = (await experimentsService.getRecord(key)).lastLookAt;
    assert.ok(lastLookAt && lastLookAt.getTime() >= before, String(lastLookAt));
  });
});
