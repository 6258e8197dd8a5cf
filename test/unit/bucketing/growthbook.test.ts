// Our bucketing must agree with GrowthBook's (hash version 2): the published examples, and the real SDK
// over thousands of ids, weights and coverages.
import assert from 'node:assert/strict';
import path from 'node:path';
import { GrowthBook } from '@growthbook/growthbook';
import { chooseVariation, fnv1a32, gbHash, getBucketRanges } from '../../../src/bucketing';
import { bucketCustomer } from '../../../src/modules/assignments';
import type { ExperimentRecord } from '../../../src/modules/experiments';
import { experimentRecord } from '../../helpers/factories';

// The SDK's hash function is internal (not exported from its index); load it from the same build.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a file found at run time, next to the package's entry
const sdkHash = (require(path.join(path.dirname(require.resolve('@growthbook/growthbook')), 'util.js')) as { hash: (seed: string, value: string, version: number) => number | null }).hash;

/** A minimal experiment record: bucketCustomer reads seed, variants, coverage and targeting. */
function experiment(seed: string, weights: number[], coverage: number, targeting?: Record<string, unknown>): ExperimentRecord {
  return experimentRecord({
    _id: seed,
    name: seed,
    variants: weights.map((weight, i) => ({ key: `v${i}`, weight, content: {} })),
    controlVariant: 'v0',
    coverage,
    seed,
    ...(targeting ? { targeting } : {}),
  });
}

/** GrowthBook's SDK answer: the variant index, or -1 when the customer is not in the experiment. */
function sdk(seed: string, id: string, weights: number[], coverage: number, attributes: Record<string, unknown> = {}, condition?: Record<string, unknown>): number {
  const gb = new GrowthBook({ attributes: { id, ...attributes } });
  const result = gb.run({
    key: seed,
    variations: weights.map((_, i) => i) as [number, number, ...number[]],
    weights,
    coverage,
    seed,
    hashVersion: 2,
    ...(condition ? { condition: condition as never } : {}),
  });
  gb.destroy();
  return result.inExperiment ? result.variationId : -1;
}

function ours(seed: string, id: string, weights: number[], coverage: number, attributes?: Record<string, unknown>, targeting?: Record<string, unknown>): number {
  const bucket = bucketCustomer(experiment(seed, weights, coverage, targeting), { customerId: id, ...(attributes ? { attributes } : {}) });
  return 'variant' in bucket ? Number(bucket.variant.slice(1)) : -1;
}

/** A small deterministic generator, so the cross-check covers the same cases on every run. */
function mulberry32(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function roundTo(values: number[], digits: number): number[] {
  return values.map((v) => Number(v.toFixed(digits)));
}

describe('bucketing (GrowthBook hash v2)', () => {
  describe('published examples', () => {
    it('when hashing ("seed", "a") with version 2, then n = 0.0505', () => {
      assert.equal(gbHash('seed', 'a', 2), 0.0505);
    });

    it('when hashing the inputs of GrowthBook\'s test cases, then version 2 and version 1 equal the SDK\'s own hash', () => {
      const inputs: [string, string][] = [['', 'a'], ['', 'b'], ['b', 'a'], ['ef', 'd'], ['', 'ab'], ['', 'def'], ['', '8952klfjas09ujkasdf'], ['', '123'], ['', '___)((*":&'], ['seed', 'a']];
      for (const [seed, value] of inputs) {
        assert.equal(gbHash(seed, value, 2), sdkHash(seed, value, 2), `v2 ${seed}/${value}`);
        assert.equal(gbHash(seed, value, 1), sdkHash(seed, value, 1), `v1 ${seed}/${value}`);
      }
      // A few pinned values, so a change in both implementations would still be caught.
      assert.equal(gbHash('', 'a', 2), 0.0216);
      assert.equal(gbHash('', 'a', 1), 0.22);
      assert.equal(gbHash('b', 'a', 1), 0.946);
    });

    it('when FNV-1a 32 hashes known strings, then it matches the reference', () => {
      assert.equal(fnv1a32(''), 0x811c9dc5);
      assert.equal(fnv1a32('a'), 0xe40c292c);
      assert.equal(fnv1a32('foobar'), 0xbf9cf968);
    });

    it('when the input has non-ASCII characters, then it hashes UTF-16 code units like the SDK', () => {
      for (const id of ['ü', 'José', '名前', '😀', 'a\u0000b']) {
        assert.equal(ours('unicode-seed', id, [0.5, 0.5], 1), sdk('unicode-seed', id, [0.5, 0.5], 1), id);
      }
    });

    it('when 2 variants run at coverage 0.5, then the ranges are [[0, 0.25], [0.5, 0.75]]', () => {
      assert.deepEqual(getBucketRanges(2, 0.5), [
        [0, 0.25],
        [0.5, 0.75],
      ]);
    });

    it('when 3 variants run at coverage 0.2 with weights [0.2, 0.3, 0.5], then the ranges are [[0, 0.04], [0.2, 0.26], [0.5, 0.6]]', () => {
      const ranges = getBucketRanges(3, 0.2, [0.2, 0.3, 0.5]);
      assert.deepEqual(ranges.map((r) => roundTo(r, 8)), [
        [0, 0.04],
        [0.2, 0.26],
        [0.5, 0.6],
      ]);
    });

    it('when weights are of the wrong count or do not sum to about 1, then equal weights are used', () => {
      assert.deepEqual(getBucketRanges(2, 1, [0.4, 0.4, 0.2]), [
        [0, 0.5],
        [0.5, 1],
      ]);
      assert.deepEqual(getBucketRanges(2, 1, [0.7, 0.7]), [
        [0, 0.5],
        [0.5, 1],
      ]);
      assert.deepEqual(roundTo(getBucketRanges(2, 1, [0.4, 0.595]).flat(), 8), [0, 0.4, 0.4, 0.995], 'a sum within [0.99, 1.01] is kept');
    });

    it('when coverage is out of [0, 1], then it is clamped', () => {
      assert.deepEqual(getBucketRanges(2, 1.5), [
        [0, 0.5],
        [0.5, 1],
      ]);
      assert.deepEqual(getBucketRanges(2, -1), [
        [0, 0],
        [0.5, 0.5],
      ]);
    });

    it('when n is chosen against ranges, then ends are exclusive and gaps give -1', () => {
      const ranges = getBucketRanges(2, 0.5);
      assert.equal(chooseVariation(0, ranges), 0);
      assert.equal(chooseVariation(0.2499, ranges), 0);
      assert.equal(chooseVariation(0.25, ranges), -1);
      assert.equal(chooseVariation(0.5, ranges), 1);
      assert.equal(chooseVariation(0.75, ranges), -1);
      assert.equal(chooseVariation(0.9999, getBucketRanges(2, 1)), 1);
    });
  });

  describe('cross-check with the GrowthBook SDK', () => {
    const configs: { weights: number[]; coverage: number }[] = [
      { weights: [0.5, 0.5], coverage: 1 },
      { weights: [0.5, 0.5], coverage: 0.5 },
      { weights: [0.1, 0.9], coverage: 1 },
      { weights: [0.2, 0.3, 0.5], coverage: 0.2 },
      { weights: [0.25, 0.25, 0.25, 0.25], coverage: 0.75 },
      { weights: [0.125, 0.125, 0.125, 0.125, 0.125, 0.125, 0.125, 0.125], coverage: 1 },
      { weights: [0.333, 0.333, 0.334], coverage: 0.99 },
      { weights: [0.7, 0.3], coverage: 0.01 },
      { weights: [0.5, 0.5], coverage: 0 },
    ];

    for (const { weights, coverage } of configs) {
      it(`when 2,000 ids are bucketed with weights ${JSON.stringify(weights)} and coverage ${coverage}, then every answer equals the SDK's`, () => {
        const seed = `exp-${weights.length}-${coverage}`;
        for (let i = 0; i < 2000; i++) {
          const id = `customer-${i}`;
          assert.equal(ours(seed, id, weights, coverage), sdk(seed, id, weights, coverage), `${seed} / ${id}`);
        }
      });
    }

    it('when 5,000 random seeds, ids, weights and coverages are drawn, then every answer equals the SDK\'s', () => {
      const random = mulberry32(20240607);
      let inside = 0;
      let outside = 0;
      for (let i = 0; i < 5000; i++) {
        const n = 2 + Math.floor(random() * 7);
        const raw = Array.from({ length: n }, () => 0.05 + random());
        const total = raw.reduce((s, w) => s + w, 0);
        const weights = raw.map((w) => Number((w / total).toFixed(4)));
        const coverage = random() < 0.3 ? 1 : Number(random().toFixed(3));
        const seed = `seed-${Math.floor(random() * 1e9).toString(36)}`;
        const id = `${Math.floor(random() * 1e12).toString(36)}@example.com`;
        const expected = sdk(seed, id, weights, coverage);
        assert.equal(ours(seed, id, weights, coverage), expected, JSON.stringify({ seed, id, weights, coverage }));
        if (expected >= 0) inside++;
        else outside++;
      }
      assert.ok(inside > 1000 && outside > 500, 'the draw covers both outcomes');
    });

    it('when the experiment has targeting, then our decision equals the SDK\'s with the same condition', () => {
      const targeting = { country: { $in: ['IR', 'AE'] }, plan: 'pro', age: { $gte: 18 } };
      const random = mulberry32(7);
      const countries = ['IR', 'AE', 'US', undefined];
      const plans = ['pro', 'free', undefined];
      for (let i = 0; i < 1000; i++) {
        const attributes: Record<string, unknown> = {};
        const country = countries[Math.floor(random() * countries.length)];
        const plan = plans[Math.floor(random() * plans.length)];
        if (country) attributes.country = country;
        if (plan) attributes.plan = plan;
        if (random() < 0.8) attributes.age = Math.floor(random() * 40);
        const id = `t-${i}`;
        assert.equal(ours('targeted', id, [0.5, 0.5], 0.8, attributes, targeting), sdk('targeted', id, [0.5, 0.5], 0.8, attributes, targeting), JSON.stringify(attributes));
      }
    });

    it('when a customer is out of the targeting, then the reason is not_targeted, before coverage is looked at', () => {
      const result = bucketCustomer(experiment('reason', [0.5, 0.5], 0, { plan: 'pro' }), { customerId: 'x', attributes: { plan: 'free' } });
      assert.deepEqual(result, { reason: 'not_targeted' });
      const covered = bucketCustomer(experiment('reason', [0.5, 0.5], 0, { plan: 'pro' }), { customerId: 'x', attributes: { plan: 'pro' } });
      assert.deepEqual(covered, { reason: 'coverage' });
    });
  });
});
