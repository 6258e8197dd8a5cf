import assert from 'node:assert/strict';
import { storableObject, unstorableKey } from '../../../src/lib/schemas';

describe('lib/schemas: keys the database can store', () => {
  it('when a key is empty, starts with "$", or holds a "." or a NUL, then unstorableKey says why', () => {
    assert.equal(unstorableKey(''), 'a key may not be empty');
    for (const key of ['$where', '$', 'plan.tier', '.', 'tier.', 'a\0b']) assert.match(unstorableKey(key) ?? '', /may not start with "\$" or contain "\." or a NUL/, key);
  });

  it('when a key only has "$" past its start, spaces or other punctuation, then unstorableKey accepts it', () => {
    for (const key of ['plan', 'plan_tier', 'plan-tier', 'plan$', ' ', 'ä/ß:#', '__proto__x']) assert.equal(unstorableKey(key), undefined, key);
  });

  it('when an object nested in an array has an empty key, then storableObject names its path', () => {
    const parsed = storableObject().safeParse({ plan: [{ tier: 'pro' }, { '': 'x' }] });
    assert.equal(parsed.success, false);
    assert.deepEqual(
      parsed.error.issues.map((issue) => [issue.path.join('.'), issue.message]),
      [['plan.1.', 'a key may not be empty']],
    );
  });
});
