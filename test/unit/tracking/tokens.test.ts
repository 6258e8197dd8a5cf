import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { signToken, verifyToken, type TrackingPayload } from '../../../src/modules/tracking';

const payload: TrackingPayload = {
  messageId: 'msg-1',
  customerId: 'cust-42',
  experiment: 'welcome-subject',
  variant: 'friendly',
  purpose: 'click',
  target: 'https://acme.example/start?v=2&utm_source=email',
};

/** Re-encodes a token's payload with one field changed, keeping the original MAC. */
function forge(token: string, change: (fields: unknown[]) => void): string {
  const [encoded, mac] = token.split('.') as [string, string];
  const fields = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8')) as unknown[];
  change(fields);
  return `${Buffer.from(JSON.stringify(fields)).toString('base64url')}.${mac}`;
}

describe('tracking tokens', () => {
  it('when a token is signed, then verifying it gives back every field', () => {
    assert.deepEqual(verifyToken(signToken(payload)), payload);
    const open: TrackingPayload = { ...payload, purpose: 'open' };
    delete open.target;
    assert.deepEqual(verifyToken(signToken(open)), open);
  });

  it('when a token is signed, then its MAC is 128 bits and the token is URL-safe', () => {
    const token = signToken(payload);
    assert.match(token, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    assert.equal(Buffer.from(token.split('.')[1]!, 'base64url').length, 16);
  });

  const fields: [string, number, unknown][] = [
    ['purpose', 1, 'u'],
    ['messageId', 2, 'msg-2'],
    ['customerId', 3, 'cust-43'],
    ['experiment', 4, 'other-experiment'],
    ['variant', 5, 'control'],
    ['target', 6, 'https://evil.example/phish'],
  ];
  for (const [name, index, value] of fields) {
    it(`when the ${name} of a token is changed, then it does not verify`, () => {
      const forged = forge(signToken(payload), (f) => {
        f[index] = value;
      });
      assert.equal(verifyToken(forged), null);
    });
  }

  it('when the MAC is altered, truncated or missing, then the token does not verify', () => {
    const token = signToken(payload);
    const [encoded, mac] = token.split('.') as [string, string];
    const flipped = `${encoded}.${mac[0] === 'A' ? 'B' : 'A'}${mac.slice(1)}`;
    assert.equal(verifyToken(flipped), null);
    assert.equal(verifyToken(`${encoded}.${mac.slice(0, -2)}`), null);
    assert.equal(verifyToken(encoded), null);
    assert.equal(verifyToken(''), null);
    assert.equal(verifyToken('not a token at all'), null);
  });

  it('when a token is verified, then the MAC is compared with crypto.timingSafeEqual', () => {
    const original = crypto.timingSafeEqual;
    let calls = 0;
    crypto.timingSafeEqual = ((a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView) => {
      calls++;
      return original(a, b);
    }) as typeof crypto.timingSafeEqual;
    try {
      verifyToken(signToken(payload));
      const [encoded, mac] = signToken(payload).split('.') as [string, string];
      verifyToken(`${encoded}.${mac.split('').reverse().join('')}`);
    } finally {
      crypto.timingSafeEqual = original;
    }
    assert.equal(calls, 2);
  });
});
