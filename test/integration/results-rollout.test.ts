import assert from 'node:assert/strict';
import { api, type Api } from '../helpers/app';
import { emailExperiment, runningExperiment, uniqueKey } from '../helpers/factories';
import { assignCustomers, eventsAtRates, sendEvents, type Customer } from './results.helpers';

interface HistoryItem {
  at: string;
  action: string;
  actor: string;
  details?: Record<string, unknown>;
}

async function history(client: Api, key: string): Promise<HistoryItem[]> {
  const response = await client.get(`/v1/experiments/${key}/history`);
  assert.equal(response.status, 200);
  return response.body.history as HistoryItem[];
}

describe('results: rollout and rollback', () => {
  let client: Api;
  before(async () => {
    client = await api();
  });

  describe('when the verdict is not ship', () => {
    let key: string;
    let customers: Customer[];
    before(async () => {
      key = await runningExperiment(client, emailExperiment());
      customers = await assignCustomers(client, key, 40);
      await sendEvents(client, key, eventsAtRates(customers, 'email.open', { control: 0.2, friendly: 0.3 }));
    });

    it('when rollout is asked without force, then 409 carries the decision and its reasons and nothing changes', async () => {
      const response = await client.post(`/v1/experiments/${key}/rollout`).send({});
      assert.equal(response.status, 409);
      assert.equal(response.body.error.code, 'conflict');
      assert.match(response.body.error.message, /the verdict is inconclusive, not ship\. Too little data/);
      assert.equal(response.body.error.details.decision.verdict, 'inconclusive');
      assert.ok(response.body.error.details.decision.reasons.length > 0);
      assert.equal((await client.get(`/v1/experiments/${key}`)).body.status, 'running');
      const withoutBody = await client.post(`/v1/experiments/${key}/rollout`);
      assert.equal(withoutBody.status, 409);
    });

    it('when the variant does not exist or force is not a boolean, then 400 names the field and nothing changes', async () => {
      const unknown = await client.post(`/v1/experiments/${key}/rollout`).send({ variant: 'nope', force: true });
      assert.equal(unknown.status, 400);
      assert.match(unknown.body.error.message, /^variant: "nope" is not a variant/);
      const badForce = await client.post(`/v1/experiments/${key}/rollout`).send({ variant: 'friendly', force: 'yes' });
      assert.equal(badForce.status, 400);
      assert.match(badForce.body.error.message, /^force:/);
      const extra = await client.post(`/v1/experiments/${key}/rollout`).send({ variant: 'friendly', force: true, everyone: true });
      assert.equal(extra.status, 400);
      assert.equal((await client.get(`/v1/experiments/${key}`)).body.status, 'running');
    });

    it('when rollout is forced, then every assignment returns the winner with reason rollout and stored assignments stay', async () => {
      const before = await client.get(`/v1/experiments/${key}/assignments?variant=control&limit=1000`);
      const controlCustomers = (before.body.assignments as { customerId: string }[]).map((a) => a.customerId);
      assert.ok(controlCustomers.length > 0);

      const response = await client.post(`/v1/experiments/${key}/rollout`).send({ variant: 'friendly', force: true });
      assert.equal(response.status, 200, JSON.stringify(response.body));
      assert.equal(response.body.experiment.status, 'rolled_out');
      assert.equal(response.body.experiment.rollout.variant, 'friendly');
      assert.equal(response.body.rollout.by, 'admin');
      assert.equal(response.body.forced, true);
      assert.equal(response.body.decision.verdict, 'inconclusive');

      const existing = await client.post('/v1/assignments').send({ experiment: key, customerId: controlCustomers[0] });
      assert.equal(existing.body.variant, 'friendly');
      assert.equal(existing.body.reason, 'rollout');
      assert.equal(existing.body.content.subject, 'Hi {{name}}, glad you are here');
      const newcomer = await client.post('/v1/assignments').send({ experiment: key, customerId: `${key}-newcomer` });
      assert.deepEqual([newcomer.body.variant, newcomer.body.reason], ['friendly', 'rollout']);
      const batch = await client.post('/v1/assignments/batch').send({ experiment: key, customers: controlCustomers.slice(0, 5).map((customerId) => ({ customerId })) });
      assert.ok((batch.body.assignments as { variant: string; reason: string }[]).every((a) => a.variant === 'friendly' && a.reason === 'rollout'));

      const after = await client.get(`/v1/experiments/${key}/assignments?variant=control&limit=1000`);
      assert.deepEqual(
        (after.body.assignments as { customerId: string }[]).map((a) => a.customerId),
        controlCustomers,
        "customers' original assignments stay stored for analysis",
      );
      const results = await client.get(`/v1/experiments/${key}/results`);
      assert.equal(results.body.status, 'rolled_out');
      assert.equal(results.body.health.unitsByVariant.control, controlCustomers.length, 'rollout answers are not new assignments');
    });

    it('when the experiment was rolled out, then the history shows who rolled out what, when and on which decision', async () => {
      const entries = await history(client, key);
      const rollout = entries.find((e) => e.action === 'rolled_out');
      assert.ok(rollout, JSON.stringify(entries));
      assert.equal(rollout.actor, 'admin');
      assert.ok(Math.abs(Date.now() - Date.parse(rollout.at)) < 10 * 60_000);
      assert.equal(rollout.details!.variant, 'friendly');
      assert.equal(rollout.details!.forced, true);
      assert.equal((rollout.details!.decision as { verdict: string }).verdict, 'inconclusive');
      assert.deepEqual(
        entries.map((e) => e.action),
        ['created', 'start', 'rolled_out'],
      );
    });

    it('when a rolled-out experiment is rolled out again, then 409', async () => {
      const again = await client.post(`/v1/experiments/${key}/rollout`).send({ variant: 'control', force: true });
      assert.equal(again.status, 409);
      assert.match(again.body.error.message, /it is rolled_out/);
    });

    it('when it is rolled back, then it is stopped, assignments are the stored ones again and the history records it', async () => {
      const control = (await client.get(`/v1/experiments/${key}/assignments?variant=control&limit=1`)).body.assignments[0].customerId as string;
      const response = await client.post(`/v1/experiments/${key}/rollback`);
      assert.equal(response.status, 200, JSON.stringify(response.body));
      assert.equal(response.body.status, 'stopped');
      assert.equal(response.body.rollout, undefined);

      const sticky = await client.post('/v1/assignments').send({ experiment: key, customerId: control });
      assert.deepEqual([sticky.body.variant, sticky.body.reason], ['control', 'sticky']);
      const newcomer = await client.post('/v1/assignments').send({ experiment: key, customerId: `${key}-after-rollback` });
      assert.deepEqual([newcomer.body.variant, newcomer.body.reason], [null, 'not_running']);

      const entries = await history(client, key);
      const last = entries[entries.length - 1];
      assert.deepEqual([last.action, last.actor, last.details!.variant], ['rolled_back', 'admin', 'friendly']);

      const again = await client.post(`/v1/experiments/${key}/rollback`);
      assert.equal(again.status, 409);
      assert.match(again.body.error.message, /only a rolled_out experiment can be rolled back/);
    });
  });

  describe('when the verdict is ship', () => {
    let key: string;
    before(async () => {
      key = await runningExperiment(client, emailExperiment());
      const customers = await assignCustomers(client, key, 400);
      await sendEvents(client, key, eventsAtRates(customers, 'email.open', { control: 0.2, friendly: 0.4 }));
    });

    it('when another variant than the winner is asked without force, then 409', async () => {
      const response = await client.post(`/v1/experiments/${key}/rollout`).send({ variant: 'control' });
      assert.equal(response.status, 409);
      assert.match(response.body.error.message, /the decision ships "friendly", not "control"/);
    });

    it('when rollout names no variant, then the decision’s variant is rolled out', async () => {
      const response = await client.post(`/v1/experiments/${key}/rollout`).send({});
      assert.equal(response.status, 200, JSON.stringify(response.body));
      assert.equal(response.body.rollout.variant, 'friendly');
      assert.equal(response.body.forced, false);
      assert.equal(response.body.decision.verdict, 'ship');
      const assignment = await client.post('/v1/assignments').send({ experiment: key, customerId: `${key}-later` });
      assert.deepEqual([assignment.body.variant, assignment.body.reason], ['friendly', 'rollout']);
      const rollout = (await history(client, key)).find((e) => e.action === 'rolled_out')!;
      assert.deepEqual([rollout.details!.variant, rollout.details!.forced, (rollout.details!.decision as { verdict: string }).verdict], ['friendly', false, 'ship']);
    });
  });

  it('when the experiment is a draft or unknown, then rollout answers 409 or 404', async () => {
    const body = emailExperiment();
    assert.equal((await client.post('/v1/experiments').send(body)).status, 201);
    const draft = await client.post(`/v1/experiments/${body.key}/rollout`).send({ variant: 'friendly', force: true });
    assert.equal(draft.status, 409);
    assert.match(draft.body.error.message, /it is draft/);
    assert.equal((await client.post(`/v1/experiments/${uniqueKey('nope')}/rollout`).send({ force: true, variant: 'a1' })).status, 404);
    assert.equal((await client.post(`/v1/experiments/${uniqueKey('nope')}/rollback`)).status, 404);
  });
});
