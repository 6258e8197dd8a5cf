import assert from 'node:assert/strict';
import { GrowthBook } from '@growthbook/growthbook';
import { db } from '../../src/db/connection';
import { api, type Api } from '../helpers/app';
import { emailExperiment, pageExperiment, runningExperiment, uniqueKey } from '../helpers/factories';

interface AssignmentBody {
  experiment: string;
  customerId: string;
  variant: string | null;
  inExperiment: boolean;
  reason: string;
  content: Record<string, unknown> | null;
}

/** What GrowthBook's own SDK shows this customer: the independent oracle for our bucketing. */
function growthBookVariant(body: { key: string; seed?: string; coverage?: number; variants: { key: string; weight: number }[] }, customerId: string): string | null {
  const gb = new GrowthBook({ attributes: { id: customerId } });
  const result = gb.run({
    key: body.key,
    variations: body.variants.map((v) => v.key) as [string, string, ...string[]],
    weights: body.variants.map((v) => v.weight),
    coverage: body.coverage ?? 1,
    seed: body.seed ?? body.key,
    hashVersion: 2,
  });
  gb.destroy();
  return result.inExperiment ? result.value : null;
}

function customers(prefix: string, n: number) {
  return Array.from({ length: n }, (_, i) => ({ customerId: `${prefix}-${i}` }));
}

async function storedAssignments(experiment: string): Promise<number> {
  return db().collection('assignments').countDocuments({ experiment });
}

async function assignedInSummary(client: Api, key: string): Promise<Record<string, number>> {
  const summary = await client.get(`/v1/experiments/${key}/summary`);
  assert.equal(summary.status, 200);
  return Object.fromEntries(summary.body.variants.map((v: { variant: string; assigned: number }) => [v.variant, v.assigned]));
}

describe('assignments', () => {
  let client: Api;
  before(async () => {
    client = await api();
  });

  describe('POST /v1/assignments', () => {
    it('when a customer is assigned twice, then the first answer is "hash" with the variant content, the second "sticky" with the same variant', async () => {
      const body = emailExperiment();
      const key = await runningExperiment(client, body);
      const first = await client.post('/v1/assignments').send({ experiment: key, customerId: 'alice' });
      assert.equal(first.status, 200, JSON.stringify(first.body));
      const a = first.body as AssignmentBody;
      assert.equal(a.experiment, key);
      assert.equal(a.customerId, 'alice');
      assert.equal(a.reason, 'hash');
      assert.equal(a.inExperiment, true);
      assert.equal(a.variant, growthBookVariant(body, 'alice'), 'the variant is the one GrowthBook computes');
      const variant = body.variants.find((v) => v.key === a.variant)!;
      assert.deepEqual(a.content, variant.content);

      const second = await client.post('/v1/assignments').send({ experiment: key, customerId: 'alice' });
      assert.equal(second.body.reason, 'sticky');
      assert.equal(second.body.variant, a.variant);
      assert.deepEqual(second.body.content, variant.content);
      assert.equal(await storedAssignments(key), 1);
      assert.equal(Object.values(await assignedInSummary(client, key)).reduce((s, n) => s + n, 0), 1, 'a sticky answer is not counted again');
    });

    it('when the same customer is assigned in two experiments with the same seed, then both give the same variant', async () => {
      const seed = uniqueKey('seed');
      const a = await runningExperiment(client, emailExperiment({ seed }));
      const b = await runningExperiment(client, emailExperiment({ seed }));
      for (const customerId of ['u1', 'u2', 'u3', 'u4', 'u5', 'u6']) {
        const x = await client.post('/v1/assignments').send({ experiment: a, customerId });
        const y = await client.post('/v1/assignments').send({ experiment: b, customerId });
        assert.equal(x.body.variant, y.body.variant, 'bucketing depends on seed and customer only');
      }
    });

    it('when the experiment is unknown, then 404; when the customerId is invalid, then 400 naming it', async () => {
      const unknown = await client.post('/v1/assignments').send({ experiment: uniqueKey('missing'), customerId: 'c' });
      assert.equal(unknown.status, 404);
      const key = await runningExperiment(client, emailExperiment());
      const spaced = await client.post('/v1/assignments').send({ experiment: key, customerId: 'has space' });
      assert.equal(spaced.status, 400);
      assert.ok(spaced.body.error.details.some((d: { path: string }) => d.path === 'customerId'));
      const missing = await client.post('/v1/assignments').send({ experiment: key });
      assert.equal(missing.status, 400);
      assert.ok(missing.body.error.details.some((d: { path: string }) => d.path === 'customerId'));
      assert.equal(await storedAssignments(key), 0);
    });

    it('when forceVariant names a variant, then the customer is stored in it with reason "forced", and sticky afterwards', async () => {
      const key = await runningExperiment(client, emailExperiment());
      const forced = await client.post('/v1/assignments').send({ experiment: key, customerId: 'qa-1', forceVariant: 'friendly' });
      assert.equal(forced.status, 200);
      assert.equal(forced.body.variant, 'friendly');
      assert.equal(forced.body.reason, 'forced');
      const again = await client.post('/v1/assignments').send({ experiment: key, customerId: 'qa-1' });
      assert.equal(again.body.variant, 'friendly');
      assert.equal(again.body.reason, 'sticky');
      const control = await client.post('/v1/assignments').send({ experiment: key, customerId: 'qa-2', forceVariant: 'control' });
      assert.equal(control.body.variant, 'control');
      assert.equal(control.body.reason, 'forced');
    });

    it('when forceVariant is not a variant, then 400 and nothing is stored', async () => {
      const key = await runningExperiment(client, emailExperiment());
      const res = await client.post('/v1/assignments').send({ experiment: key, customerId: 'qa-3', forceVariant: 'ghost' });
      assert.equal(res.status, 400);
      assert.match(res.body.error.message, /forceVariant/);
      assert.equal(await storedAssignments(key), 0);
    });
  });

  describe('POST /v1/assignments/batch', () => {
    it('when 2,000 customers are assigned with weights 0.2/0.3/0.5, then each gets GrowthBook\'s variant and the split follows the weights', async () => {
      const body = emailExperiment({
        variants: [
          { key: 'a', weight: 0.2, content: { subject: 'A', html: '<p>A</p>' } },
          { key: 'b', weight: 0.3, content: { subject: 'B', html: '<p>B</p>' } },
          { key: 'c', weight: 0.5, content: { subject: 'C', html: '<p>C</p>' } },
        ],
      });
      const key = await runningExperiment(client, body);
      const list = customers(uniqueKey('dist'), 2000);
      const res = await client.post('/v1/assignments/batch').send({ experiment: key, customers: list });
      assert.equal(res.status, 200, JSON.stringify(res.body).slice(0, 500));
      const answers = res.body.assignments as AssignmentBody[];
      assert.equal(answers.length, 2000);
      const counts: Record<string, number> = { a: 0, b: 0, c: 0 };
      answers.forEach((answer, i) => {
        assert.equal(answer.customerId, list[i].customerId, 'answers keep the request order');
        assert.equal(answer.reason, 'hash');
        assert.equal(answer.variant, growthBookVariant(body, answer.customerId));
        counts[answer.variant!]++;
      });
      // Binomial standard deviation at n = 2,000 is at most ~22; allow 5 of them.
      for (const [variant, weight] of [['a', 0.2], ['b', 0.3], ['c', 0.5]] as const) {
        assert.ok(Math.abs(counts[variant] - 2000 * weight) < 5 * Math.sqrt(2000 * weight * (1 - weight)), `${variant}: ${counts[variant]}`);
      }
      assert.deepEqual(await assignedInSummary(client, key), counts, 'the summary counts every stored assignment once');
      assert.equal(await storedAssignments(key), 2000);
    });

    it('when a batch repeats a customer, then answers keep order, the repeat is "sticky" with the same variant and it is stored once', async () => {
      const key = await runningExperiment(client, emailExperiment());
      const res = await client.post('/v1/assignments/batch').send({
        experiment: key,
        customers: [{ customerId: 'r1' }, { customerId: 'r2' }, { customerId: 'r1' }, { customerId: 'r3' }, { customerId: 'r1' }],
      });
      assert.equal(res.status, 200);
      const answers = res.body.assignments as AssignmentBody[];
      assert.deepEqual(answers.map((a) => a.customerId), ['r1', 'r2', 'r1', 'r3', 'r1']);
      assert.deepEqual(answers.map((a) => a.reason), ['hash', 'hash', 'sticky', 'hash', 'sticky']);
      assert.equal(answers[2].variant, answers[0].variant);
      assert.equal(answers[4].variant, answers[0].variant);
      assert.equal(await storedAssignments(key), 3);
      const total = Object.values(await assignedInSummary(client, key)).reduce((s, n) => s + n, 0);
      assert.equal(total, 3);

      const again = await client.post('/v1/assignments/batch').send({ experiment: key, customers: [{ customerId: 'r3' }, { customerId: 'r4' }] });
      assert.deepEqual(again.body.assignments.map((a: AssignmentBody) => a.reason), ['sticky', 'hash']);
      assert.equal(again.body.assignments[0].variant, answers[3].variant);
    });

    it('when a batch has 10,001 customers, then 400 names customers and nothing is stored', async () => {
      const key = await runningExperiment(client, emailExperiment());
      const res = await client.post('/v1/assignments/batch').send({ experiment: key, customers: customers('big', 10_001) });
      assert.equal(res.status, 400);
      assert.ok(res.body.error.details.some((d: { path: string }) => d.path === 'customers'));
      assert.equal(await storedAssignments(key), 0);
      assert.deepEqual(await assignedInSummary(client, key), { control: 0, friendly: 0 });
    });

    it('when one customer in a batch is invalid, then 400 names customers.N.customerId and nothing is stored', async () => {
      const key = await runningExperiment(client, emailExperiment());
      const res = await client.post('/v1/assignments/batch').send({ experiment: key, customers: [{ customerId: 'ok-1' }, { customerId: '' }] });
      assert.equal(res.status, 400);
      assert.ok(res.body.error.details.some((d: { path: string }) => d.path === 'customers.1.customerId'));
      assert.equal(await storedAssignments(key), 0);
    });

    it('when a batch of 10,000 is sent, then all are answered', async () => {
      const key = await runningExperiment(client, emailExperiment());
      const res = await client.post('/v1/assignments/batch').send({ experiment: key, customers: customers('max', 10_000) });
      assert.equal(res.status, 200);
      assert.equal(res.body.assignments.length, 10_000);
      assert.equal(await storedAssignments(key), 10_000);
    });
  });

  describe('coverage', () => {
    it('when coverage is 0.5, then about half are out with reason "coverage", exactly as GrowthBook says, and only those in are stored', async () => {
      const body = emailExperiment({ coverage: 0.5 });
      const key = await runningExperiment(client, body);
      const list = customers(uniqueKey('cov'), 1000);
      const res = await client.post('/v1/assignments/batch').send({ experiment: key, customers: list });
      const answers = res.body.assignments as AssignmentBody[];
      let out = 0;
      for (const answer of answers) {
        const expected = growthBookVariant(body, answer.customerId);
        assert.equal(answer.variant, expected, answer.customerId);
        if (expected === null) {
          out++;
          assert.equal(answer.reason, 'coverage');
          assert.equal(answer.inExperiment, false);
          assert.equal(answer.content, null);
        }
      }
      assert.ok(out > 420 && out < 580, `out of coverage: ${out}`);
      assert.equal(await storedAssignments(key), 1000 - out);
      const outsider = answers.find((a) => a.reason === 'coverage')!;
      const single = await client.post('/v1/assignments').send({ experiment: key, customerId: outsider.customerId });
      assert.equal(single.body.reason, 'coverage', 'an outsider is not stored, so it is evaluated again');
    });

    it('when coverage grows from 0.3 to 1, then stored customers keep their variant (sticky) and the others enter', async () => {
      const body = emailExperiment({ coverage: 0.3 });
      const key = await runningExperiment(client, body);
      const list = customers(uniqueKey('grow'), 300);
      const before = (await client.post('/v1/assignments/batch').send({ experiment: key, customers: list })).body.assignments as AssignmentBody[];
      assert.ok(before.some((a) => a.reason === 'coverage') && before.some((a) => a.reason === 'hash'));
      assert.equal((await client.patch(`/v1/experiments/${key}`).send({ coverage: 1 })).status, 200);
      const after = (await client.post('/v1/assignments/batch').send({ experiment: key, customers: list })).body.assignments as AssignmentBody[];
      after.forEach((answer, i) => {
        const earlier = before[i];
        if (earlier.inExperiment) {
          assert.equal(answer.reason, 'sticky');
          assert.equal(answer.variant, earlier.variant);
        } else {
          assert.equal(answer.reason, 'hash');
          assert.equal(answer.variant, growthBookVariant({ ...body, coverage: 1 }, answer.customerId));
        }
      });
      assert.equal(await storedAssignments(key), 300);
    });

    it('when coverage is 0, then nobody enters', async () => {
      const key = await runningExperiment(client, emailExperiment({ coverage: 0 }));
      const res = await client.post('/v1/assignments/batch').send({ experiment: key, customers: customers('zero', 200) });
      assert.ok(res.body.assignments.every((a: AssignmentBody) => a.reason === 'coverage' && a.variant === null));
      assert.equal(await storedAssignments(key), 0);
    });
  });

  describe('targeting', () => {
    const cases: { targeting: Record<string, unknown>; in: Record<string, unknown>[]; out: Record<string, unknown>[] }[] = [
      { targeting: { country: { $in: ['IR', 'AE'] } }, in: [{ country: 'IR' }, { country: 'AE' }], out: [{ country: 'US' }, {}] },
      { targeting: { country: { $nin: ['US'] } }, in: [{ country: 'IR' }], out: [{ country: 'US' }] },
      { targeting: { plan: 'pro' }, in: [{ plan: 'pro' }], out: [{ plan: 'free' }, {}] },
      { targeting: { plan: { $eq: 'pro' } }, in: [{ plan: 'pro' }], out: [{ plan: 'free' }] },
      { targeting: { plan: { $ne: 'free' } }, in: [{ plan: 'pro' }], out: [{ plan: 'free' }] },
      { targeting: { age: { $gt: 30 } }, in: [{ age: 31 }], out: [{ age: 30 }, { age: 12 }] },
      { targeting: { age: { $gte: 30 } }, in: [{ age: 30 }], out: [{ age: 29 }] },
      { targeting: { age: { $lt: 18 } }, in: [{ age: 17 }], out: [{ age: 18 }] },
      { targeting: { age: { $lte: 18 } }, in: [{ age: 18 }], out: [{ age: 19 }] },
      { targeting: { email: { $exists: true } }, in: [{ email: 'x@example.com' }], out: [{}] },
      { targeting: { email: { $exists: false } }, in: [{}], out: [{ email: 'x@example.com' }] },
      {
        targeting: { country: { $in: ['IR', 'AE'] }, plan: 'pro', 'address.city': 'Tehran' },
        in: [{ country: 'IR', plan: 'pro', address: { city: 'Tehran' } }],
        out: [{ country: 'IR', plan: 'free', address: { city: 'Tehran' } }, { country: 'IR', plan: 'pro' }],
      },
    ];
    for (const c of cases) {
      it(`when targeting is ${JSON.stringify(c.targeting)}, then matching customers enter and the others get "not_targeted"`, async () => {
        const key = await runningExperiment(client, emailExperiment({ targeting: c.targeting }));
        const stored = await client.get(`/v1/experiments/${key}`);
        assert.deepEqual(stored.body.targeting, c.targeting, 'targeting is stored as given');
        let n = 0;
        for (const attributes of c.in) {
          const res = await client.post('/v1/assignments').send({ experiment: key, customerId: `in-${n++}`, attributes });
          assert.equal(res.status, 200, JSON.stringify(res.body));
          assert.equal(res.body.inExperiment, true, JSON.stringify(attributes));
          assert.equal(res.body.reason, 'hash');
        }
        for (const attributes of c.out) {
          const res = await client.post('/v1/assignments').send({ experiment: key, customerId: `out-${n++}`, attributes });
          assert.equal(res.body.inExperiment, false, JSON.stringify(attributes));
          assert.equal(res.body.reason, 'not_targeted');
          assert.equal(res.body.variant, null);
        }
        assert.equal(await storedAssignments(key), c.in.length);
      });
    }

    it('when targeting names the id, then it is the customer id, as GrowthBook SDKs see it (hashAttribute "id")', async () => {
      const key = await runningExperiment(client, emailExperiment({ targeting: { id: { $in: ['vip-1', 'vip-2'] } } }));
      const vip = await client.post('/v1/assignments').send({ experiment: key, customerId: 'vip-1', attributes: { id: 'someone-else' } });
      assert.equal(vip.body.reason, 'hash', JSON.stringify(vip.body));
      const other = await client.post('/v1/assignments').send({ experiment: key, customerId: 'regular-1', attributes: { id: 'vip-forged' } });
      assert.equal(other.body.reason, 'not_targeted');
      const batch = await client.post('/v1/assignments/batch').send({ experiment: key, customers: [{ customerId: 'vip-2' }, { customerId: 'regular-2' }] });
      assert.deepEqual(batch.body.assignments.map((a: AssignmentBody) => a.reason), ['hash', 'not_targeted']);
    });

    it('when a batch mixes targeted and untargeted customers, then each is answered by its own attributes', async () => {
      const key = await runningExperiment(client, emailExperiment({ targeting: { plan: 'pro' } }));
      const res = await client.post('/v1/assignments/batch').send({
        experiment: key,
        customers: [
          { customerId: 'b1', attributes: { plan: 'pro' } },
          { customerId: 'b2', attributes: { plan: 'free' } },
          { customerId: 'b3' },
        ],
      });
      assert.deepEqual(res.body.assignments.map((a: AssignmentBody) => a.reason), ['hash', 'not_targeted', 'not_targeted']);
    });
  });

  describe('experiment state', () => {
    for (const state of ['pause', 'stop'] as const) {
      it(`when an experiment is ${state === 'pause' ? 'paused' : 'stopped'}, then existing customers keep their variant and new ones get null with "not_running"`, async () => {
        const key = await runningExperiment(client, emailExperiment());
        const existing = await client.post('/v1/assignments').send({ experiment: key, customerId: 'old' });
        assert.equal((await client.post(`/v1/experiments/${key}/${state}`)).status, 200);
        const again = await client.post('/v1/assignments').send({ experiment: key, customerId: 'old' });
        assert.equal(again.body.reason, 'sticky');
        assert.equal(again.body.variant, existing.body.variant);
        assert.equal(again.body.inExperiment, true);
        const fresh = await client.post('/v1/assignments').send({ experiment: key, customerId: 'new' });
        assert.equal(fresh.body.variant, null);
        assert.equal(fresh.body.inExperiment, false);
        assert.equal(fresh.body.reason, 'not_running');
        const batch = await client.post('/v1/assignments/batch').send({ experiment: key, customers: [{ customerId: 'new2' }, { customerId: 'old' }] });
        assert.deepEqual(batch.body.assignments.map((a: AssignmentBody) => [a.reason, a.variant]), [['not_running', null], ['sticky', existing.body.variant]]);
        assert.equal(await storedAssignments(key), 1);
      });
    }

    it('when an experiment is a draft, then every customer gets "not_running" and nothing is stored', async () => {
      const body = emailExperiment();
      await client.post('/v1/experiments').send(body);
      const single = await client.post('/v1/assignments').send({ experiment: body.key, customerId: 'd1' });
      assert.equal(single.status, 200);
      assert.equal(single.body.reason, 'not_running');
      assert.equal(single.body.variant, null);
      const batch = await client.post('/v1/assignments/batch').send({ experiment: body.key, customers: [{ customerId: 'd2' }] });
      assert.equal(batch.body.assignments[0].reason, 'not_running');
      assert.equal(await storedAssignments(body.key), 0);
    });

    it('when a paused experiment resumes, then new customers are assigned again', async () => {
      const key = await runningExperiment(client, emailExperiment());
      await client.post(`/v1/experiments/${key}/pause`);
      assert.equal((await client.post('/v1/assignments').send({ experiment: key, customerId: 'late' })).body.reason, 'not_running');
      await client.post(`/v1/experiments/${key}/resume`);
      assert.equal((await client.post('/v1/assignments').send({ experiment: key, customerId: 'late' })).body.reason, 'hash');
    });
  });

  describe('reading assignments back', () => {
    it('when assignments are listed by experiment and customer, then the stored ones come back', async () => {
      const one = await runningExperiment(client, emailExperiment());
      const two = await runningExperiment(client, pageExperiment());
      const customerId = uniqueKey('reader');
      const a = await client.post('/v1/assignments').send({ experiment: one, customerId });
      const b = await client.post('/v1/assignments').send({ experiment: two, customerId, forceVariant: 'guided' });
      await client.post('/v1/assignments').send({ experiment: one, customerId: `${customerId}-other` });

      const byExperiment = await client.get(`/v1/experiments/${one}/assignments?customerId=${customerId}`);
      assert.equal(byExperiment.status, 200);
      assert.equal(byExperiment.body.assignments.length, 1);
      assert.deepEqual(
        { ...byExperiment.body.assignments[0], assignedAt: undefined },
        { experiment: one, customerId, variant: a.body.variant, reason: 'hash', assignedAt: undefined },
      );
      const all = await client.get(`/v1/experiments/${one}/assignments`);
      assert.equal(all.body.assignments.length, 2);

      const byCustomer = await client.get(`/v1/customers/${customerId}/assignments`);
      assert.equal(byCustomer.status, 200);
      assert.equal(byCustomer.body.customerId, customerId);
      assert.deepEqual(
        byCustomer.body.assignments.map((x: { experiment: string; variant: string; reason: string }) => [x.experiment, x.variant, x.reason]).sort(),
        [
          [one, a.body.variant, 'hash'],
          [two, b.body.variant, 'forced'],
        ].sort(),
      );
      const nobody = await client.get(`/v1/customers/${uniqueKey('nobody')}/assignments`);
      assert.deepEqual(nobody.body.assignments, []);
    });

    it('when the experiment is unknown, then 404; when the query is invalid, then 400', async () => {
      assert.equal((await client.get(`/v1/experiments/${uniqueKey('missing')}/assignments`)).status, 404);
      const key = await runningExperiment(client, emailExperiment());
      const res = await client.get(`/v1/experiments/${key}/assignments?limit=5000`);
      assert.equal(res.status, 400);
      assert.ok(res.body.error.details.some((d: { path: string }) => d.path === 'limit'));
    });
  });

  describe('GET /p/:experiment (page redirect)', () => {
    it('when a customer follows the link, then 302 to the URL stored for their variant, the same every time', async () => {
      const body = pageExperiment();
      const key = await runningExperiment(client, body);
      for (const cid of ['p1', 'p2', 'p3', 'p4', 'p5', 'p6']) {
        const res = await client.raw().get(`/p/${key}?cid=${cid}`);
        assert.equal(res.status, 302);
        const variant = growthBookVariant(body, cid);
        assert.equal(res.headers.location, body.variants.find((v) => v.key === variant)!.content.url);
        assert.equal(res.headers['cache-control'], 'no-store');
        const again = await client.raw().get(`/p/${key}?cid=${cid}`);
        assert.equal(again.headers.location, res.headers.location);
      }
      const stored = await client.get(`/v1/experiments/${key}/assignments?customerId=p1`);
      assert.equal(stored.body.assignments.length, 1, 'following the link assigns the customer');
    });

    it('when the customer is not in the experiment, then 302 to the control URL', async () => {
      const body = pageExperiment({ coverage: 0, controlVariant: 'guided' });
      const key = await runningExperiment(client, body);
      const res = await client.raw().get(`/p/${key}?cid=outsider`);
      assert.equal(res.status, 302);
      assert.equal(res.headers.location, 'https://acme.example/help?layout=guided');
      const draft = pageExperiment();
      await client.post('/v1/experiments').send(draft);
      const fromDraft = await client.raw().get(`/p/${draft.key}?cid=x`);
      assert.equal(fromDraft.headers.location, 'https://acme.example/help');
    });

    it('when the request carries a URL, then it is ignored: only stored URLs are redirected to', async () => {
      const body = pageExperiment();
      const key = await runningExperiment(client, body);
      const allowed = body.variants.map((v) => v.content.url);
      for (const query of ['url=https://evil.example', 'redirect=https://evil.example', 'next=//evil.example', 'to=https%3A%2F%2Fevil.example']) {
        const res = await client.raw().get(`/p/${key}?cid=c1&${query}`);
        assert.equal(res.status, 302);
        assert.ok(allowed.includes(res.headers.location), res.headers.location);
      }
    });

    it('when the experiment is unknown or an email experiment, then 404 JSON and no redirect', async () => {
      const unknown = await client.raw().get(`/p/${uniqueKey('missing')}?cid=c1`);
      assert.equal(unknown.status, 404);
      assert.equal(unknown.headers.location, undefined);
      assert.equal(unknown.body.error.code, 'not_found');
      const email = await runningExperiment(client, emailExperiment());
      const res = await client.raw().get(`/p/${email}?cid=c1`);
      assert.equal(res.status, 404);
      assert.equal(res.headers.location, undefined);
      assert.equal(await storedAssignments(email), 0, 'no assignment for an email experiment reached by link');
    });

    it('when cid is missing or invalid, then 400 naming cid and nothing is stored', async () => {
      const key = await runningExperiment(client, pageExperiment());
      const missing = await client.raw().get(`/p/${key}`);
      assert.equal(missing.status, 400);
      assert.ok(missing.body.error.details.some((d: { path: string }) => d.path === 'cid'));
      const empty = await client.raw().get(`/p/${key}?cid=`);
      assert.equal(empty.status, 400);
      assert.equal(await storedAssignments(key), 0);
    });
  });
});
