// Issue 10, "Hardening": a free-form value the database cannot store as sent (a key with a leading "$",
// a "." or nothing at all, a number beyond a double, nesting deeper than MAX_NESTING_DEPTH) is a 400
// naming the field wherever the API accepts one (event properties, assignment attributes, audience rows
// and CSV columns), never a 500, and nothing of the request is stored.
import assert from 'node:assert/strict';
import { db } from '../../src/db/connection';
import { MAX_NESTING_DEPTH } from '../../src/lib/schemas';
import { api, type Api } from '../helpers/app';
import { emailExperiment, eventId, runningExperiment, uniqueKey } from '../helpers/factories';

/** An object `levels` levels deep: the object itself is level 1, each `next` one more. */
function nested(levels: number): Record<string, unknown> {
  return levels === 1 ? { leaf: 1 } : { next: nested(levels - 1) };
}
/** The path, under the object, of its level `level`. */
const levelPath = (level: number) => Array.from({ length: level - 1 }, () => 'next').join('.');

interface ValidationError {
  error: { code: string; message: string; details: { path: string; message: string }[] };
}

function assertNames(body: ValidationError, path: string, message: RegExp) {
  assert.equal(body.error.code, 'validation_failed', JSON.stringify(body));
  assert.equal(body.error.details[0].path, path, JSON.stringify(body));
  assert.match(body.error.details[0].message, message);
  assert.ok(body.error.message.startsWith(`${path}: `), body.error.message);
}

/**
 * The values that cannot be stored, each with the path and the message its 400 names (under the field),
 * and a near miss that can be stored and is accepted: the rule refuses no more than it must.
 */
const unstorable: { what: string; value: string; path: string; message: RegExp; fine: string }[] = [
  { what: 'a key with a "." (plan.tier)', value: '{"plan.tier":"gold"}', path: 'plan.tier', message: /may not start with "\$" or contain "\."/, fine: '{"plan_tier":"gold","plan-tier$":"gold"}' },
  { what: 'a nested key with a leading "$"', value: '{"plan":{"$where":"1"}}', path: 'plan.$where', message: /may not start with "\$"/, fine: '{"plan":{"where$":"1"}}' },
  { what: 'an empty key', value: '{"plan":{"":"gold"}}', path: 'plan.', message: /may not be empty/, fine: '{"plan":{" ":"gold"}}' },
  { what: 'a number beyond a double (1e309)', value: '{"plan":{"seats":[1,1e309]}}', path: 'plan.seats.1', message: /finite number/, fine: '{"plan":{"seats":[1,1.7e308,-1.7e308]}}' },
  {
    what: `nesting deeper than ${MAX_NESTING_DEPTH} levels`,
    value: JSON.stringify(nested(MAX_NESTING_DEPTH + 1)),
    path: levelPath(MAX_NESTING_DEPTH + 1),
    message: /nests deeper than 5 levels/,
    fine: JSON.stringify(nested(MAX_NESTING_DEPTH)),
  },
];

describe('free-form values the database cannot store', () => {
  let client: Api;
  let experiment: string;

  before(async () => {
    client = await api();
    experiment = await runningExperiment(client, emailExperiment());
  });

  async function assignmentsOf(customerId: string): Promise<unknown[]> {
    const answer = await client.get(`/v1/customers/${customerId}/assignments`);
    assert.equal(answer.status, 200);
    return answer.body.assignments;
  }

  describe('POST /v1/events', () => {
    it('when one event of a batch has a property with an empty key, then 400 names events.N.properties... and no event of the batch is stored', async () => {
      const ids = Array.from({ length: 5 }, () => eventId());
      const events = ids.map((id, i) => ({ eventId: id, customerId: `${experiment}-e`, name: 'purchase', properties: i === 3 ? { plan: { '': 'gold' } } : { plan: { tier: 'gold' } } }));
      const answer = await client.post('/v1/events').send({ events });
      assert.equal(answer.status, 400, JSON.stringify(answer.body));
      assertNames(answer.body, 'events.3.properties.plan.', /may not be empty/);
      const stored = () => db().collection<{ _id: string }>('events').countDocuments({ _id: { $in: ids } });
      assert.equal(await stored(), 0);
      // Fixed and sent again, every event of the batch is new.
      const fixed = await client.post('/v1/events').send({ events: events.map((e) => ({ ...e, properties: { plan: { ' ': 'gold' } } })) });
      assert.deepEqual(fixed.body, { accepted: 5, duplicates: 0 });
      assert.equal(await stored(), 5);
    });
  });

  describe('POST /v1/assignments', () => {
    for (const bad of unstorable) {
      it(`when the attributes hold ${bad.what}, then 400 names attributes.${bad.path} and nothing is assigned; a near miss is assigned`, async () => {
        const customerId = uniqueKey('attr');
        const send = (attributes: string) => client.post('/v1/assignments').set('Content-Type', 'application/json').send(`{"experiment":"${experiment}","customerId":"${customerId}","attributes":${attributes}}`);
        const answer = await send(bad.value);
        assert.equal(answer.status, 400, JSON.stringify(answer.body));
        assertNames(answer.body, `attributes.${bad.path}`, bad.message);
        assert.deepEqual(await assignmentsOf(customerId), []);

        const fine = await send(bad.fine);
        assert.equal(fine.status, 200, JSON.stringify(fine.body));
        assert.equal(fine.body.inExperiment, true);
        assert.equal((await assignmentsOf(customerId)).length, 1);
      });
    }
  });

  describe('POST /v1/assignments/batch', () => {
    it('when one customer of a batch has an attribute key with a ".", then 400 names customers.N.attributes... and no customer of the batch is assigned', async () => {
      const customers = Array.from({ length: 4 }, (_, i) => ({ customerId: uniqueKey('batch'), attributes: i === 2 ? { 'plan.tier': 'gold' } : { plan: 'gold' } }));
      const answer = await client.post('/v1/assignments/batch').send({ experiment, customers });
      assert.equal(answer.status, 400, JSON.stringify(answer.body));
      assertNames(answer.body, 'customers.2.attributes.plan.tier', /contain "\."/);
      for (const customer of customers) assert.deepEqual(await assignmentsOf(customer.customerId), [], customer.customerId);
    });

    it('when one customer of a batch has a number beyond a double, then 400 names it and no customer of the batch is assigned', async () => {
      const ids = [uniqueKey('batch'), uniqueKey('batch')];
      const answer = await client
        .post('/v1/assignments/batch')
        .set('Content-Type', 'application/json')
        .send(`{"experiment":"${experiment}","customers":[{"customerId":"${ids[0]}"},{"customerId":"${ids[1]}","attributes":{"ltv":-1e309}}]}`);
      assert.equal(answer.status, 400, JSON.stringify(answer.body));
      assertNames(answer.body, 'customers.1.attributes.ltv', /finite number/);
      for (const id of ids) assert.deepEqual(await assignmentsOf(id), [], id);
    });
  });

  describe('POST /v1/campaigns/:key/audience', () => {
    async function campaign(): Promise<string> {
      const key = uniqueKey('camp');
      const created = await client.post('/v1/campaigns').send({ key, experiment, from: 'Acme CX <cx@acme.example>', winnerPolicy: { after: 'PT4H', onInconclusive: 'send_control' } });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      return key;
    }

    async function assertNothingStored(key: string) {
      const fetched = await client.get(`/v1/campaigns/${key}`);
      assert.equal(fetched.body.phase, 'draft');
      assert.equal(fetched.body.counts.total.audience, 0);
      assert.equal(await db().collection('campaign_recipients').countDocuments({ campaign: key }), 0);
    }

    for (const column of ['plan.tier', '$plan']) {
      it(`when a CSV header has the column "${column}", then 400 names the column and nothing is stored`, async () => {
        const key = await campaign();
        const csv = `customerId,email,name,${column}\nc1,c1@example.org,Ann,gold\nc2,c2@example.org,Bob,silver\n`;
        const answer = await client.post(`/v1/campaigns/${key}/audience`).set('Content-Type', 'text/csv').send(csv);
        assert.equal(answer.status, 400, JSON.stringify(answer.body));
        assert.equal(answer.body.error.code, 'bad_request');
        assert.ok(answer.body.error.message.includes(`CSV column 4 "${column}"`), answer.body.error.message);
        assert.deepEqual(answer.body.error.details, { line: 1, column });
        await assertNothingStored(key);
      });
    }

    for (const bad of unstorable) {
      it(`when a JSON row's attributes hold ${bad.what}, then 400 names the row and attributes.${bad.path} and nothing is stored; a near miss is stored`, async () => {
        const key = await campaign();
        const prefix = uniqueKey('r');
        const upload = (attributes: string) =>
          client
            .post(`/v1/campaigns/${key}/audience`)
            .set('Content-Type', 'application/json')
            .send(`[{"customerId":"${prefix}-1","email":"${prefix}.1@example.org","attributes":{"plan":"gold"}},{"customerId":"${prefix}-2","email":"${prefix}.2@example.org","attributes":${attributes}}]`);
        const answer = await upload(bad.value);
        assert.equal(answer.status, 400, JSON.stringify(answer.body));
        assert.equal(answer.body.error.details.invalidCount, 1);
        const [invalid] = answer.body.error.details.invalid;
        assert.equal(invalid.row, 2);
        assert.equal(invalid.field, `attributes.${bad.path}`);
        assert.match(invalid.message, bad.message);
        await assertNothingStored(key);

        const fine = await upload(bad.fine);
        assert.equal(fine.status, 200, JSON.stringify(fine.body));
        assert.equal(fine.body.accepted, 2);
      });
    }
  });
});
