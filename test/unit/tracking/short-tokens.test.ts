import assert from 'node:assert/strict';
import { shortReference, signShortToken, verifyShortToken } from '../../../src/modules/tracking';

describe('short signed tokens (SMS links)', () => {
  it('when a reference is signed, then the token is 23 URL-safe characters and verifies back to the reference', () => {
    const ref = shortReference('camp:test:cust-1');
    assert.match(ref, /^[A-Za-z0-9_-]{12}$/);
    assert.equal(shortReference('camp:test:cust-1'), ref);
    assert.notEqual(shortReference('camp:test:cust-2'), ref);
    const token = signShortToken(ref);
    assert.match(token, /^[A-Za-z0-9_-]{23}$/);
    assert.equal(verifyShortToken(token), ref);
  });

  it('when any character is changed, the token is cut or extended, or the MAC belongs to another reference, then it does not verify', () => {
    const token = signShortToken(shortReference('camp:test:cust-1'));
    const other = signShortToken(shortReference('camp:test:cust-2'));
    for (let i = 0; i < token.length; i++) {
      const swapped = token.slice(0, i) + (token[i] === 'A' ? 'B' : 'A') + token.slice(i + 1);
      assert.equal(verifyShortToken(swapped), null, `changed at ${i}`);
    }
    assert.equal(verifyShortToken(token.slice(0, -1)), null);
    assert.equal(verifyShortToken(`${token}A`), null);
    assert.equal(verifyShortToken(token.slice(0, 12) + other.slice(12)), null);
    assert.equal(verifyShortToken(''), null);
  });
});
