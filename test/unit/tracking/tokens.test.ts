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

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

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
    assert.equal(Buffer.from(token.split('.')[1], 'base64url').length, 16);
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
    const flipped = `${encoded}.${mac.startsWith('A') ? 'B' : 'A'}${mac.slice(1)}`;
    assert.equal(verifyToken(flipped), null);
    assert.equal(verifyToken(`${encoded}.${mac.slice(0, -2)}`), null);
    assert.equal(verifyToken(encoded), null);
    assert.equal(verifyToken(''), null);
    assert.equal(verifyToken('not a token at all'), null);
  });

  it('when the last character of the MAC or of the payload is spelled any other way, then the token does not verify', () => {
    const token = signToken(payload);
    const [encoded, mac] = token.split('.') as [string, string];
    assert.deepEqual(verifyToken(token), payload, 'the canonical spelling verifies');
    const sameBytes: string[] = [];
    for (const c of BASE64URL) {
      if (c === mac.at(-1)) continue;
      const other = `${mac.slice(0, -1)}${c}`;
      if (Buffer.from(other, 'base64url').equals(Buffer.from(mac, 'base64url'))) sameBytes.push(c);
      assert.equal(verifyToken(`${encoded}.${other}`), null, `MAC ending in ${c}`);
    }
    // 128 bits in 22 characters leave 4 unused bits: Node's decoder reads 15 other endings as the same MAC.
    assert.equal(sameBytes.length, 15, `spellings of the same MAC: ${sameBytes.join(' ')}`);
    for (const c of BASE64URL) {
      if (c !== encoded.at(-1)) assert.equal(verifyToken(`${encoded.slice(0, -1)}${c}.${mac}`), null, `payload ending in ${c}`);
    }
  });

  it('when a token is spelled with + or / for - or _, with padding, or in standard base64, then it does not verify', () => {
    // A token whose MAC and payload both hold a "-" or "_" (the fields vary until they do).
    let token = '';
    for (let i = 0; i < 1000 && !/[-_].*\.(?=.*[-_])/.test(token); i++) token = signToken({ ...payload, messageId: `msg-${i}` });
    assert.match(token, /[-_].*\.(?=.*[-_])/);
    const [encoded, mac] = token.split('.') as [string, string];
    assert.ok(verifyToken(token), 'the canonical spelling verifies');
    const standard = (text: string) => text.replace(/-/g, '+').replace(/_/g, '/');
    const padded = (text: string) => text + '='.repeat((4 - (text.length % 4)) % 4);
    const variants: [string, string][] = [
      ['the MAC with + and /', `${encoded}.${standard(mac)}`],
      ['the payload with + and /', `${standard(encoded)}.${mac}`],
      ['both with + and /', `${standard(encoded)}.${standard(mac)}`],
      ['the MAC padded', `${encoded}.${padded(mac)}`],
      ['the MAC with one "="', `${encoded}.${mac}=`],
      ['the payload padded', `${padded(encoded)}.${mac}`],
      ['standard base64, padded', `${Buffer.from(encoded, 'base64url').toString('base64')}.${Buffer.from(mac, 'base64url').toString('base64')}`],
    ];
    // Each single substitution in the MAC, too: Node's decoder reads every one of them as the same bytes.
    // eslint-disable-next-line @typescript-eslint/no-misused-spread -- a base64url MAC is ASCII: one character a code unit
    [...mac].forEach((c, i) => {
      if (c === '-' || c === '_') variants.push([`the MAC with ${standard(c)} at ${i}`, `${encoded}.${mac.slice(0, i)}${standard(c)}${mac.slice(i + 1)}`]);
    });
    for (const [what, variant] of variants) assert.equal(verifyToken(variant), null, what);
  });

  it('when a token is verified, then the MAC is compared with crypto.timingSafeEqual', () => {
    const original = crypto.timingSafeEqual;
    let calls = 0;
    crypto.timingSafeEqual = ((a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView) => {
      calls++;
      return original(a, b);
    });
    try {
      verifyToken(signToken(payload));
      const [encoded, mac] = signToken(payload).split('.') as [string, string];
      // A wrong MAC that is still canonical base64url (a non-canonical one is refused before the MAC check).
      verifyToken(`${encoded}.${mac.startsWith('A') ? 'B' : 'A'}${mac.slice(1)}`);
    } finally {
      crypto.timingSafeEqual = original;
    }
    assert.equal(calls, 2);
  });
});
