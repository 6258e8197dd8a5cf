import assert from 'node:assert/strict';
import { MAX_SHARE_SECONDS, parseExpiresIn, signShareToken, verifyShareToken } from '../../../src/modules/reports/share-token';

const SECRET = 'unit-test-secret-0123456789abcdef0123456789';
const NOW = Date.UTC(2026, 0, 1);
const IN_AN_HOUR = NOW / 1000 + 3600;

describe('reports: share tokens', () => {
  it('when a token is verified for the key and secret it was made with before it expires, then it is valid', () => {
    const token = signShareToken(SECRET, 'welcome-test', IN_AN_HOUR);
    assert.equal(verifyShareToken(SECRET, 'welcome-test', token, NOW), true);
  });

  it('when the expiry has passed, then the token is refused', () => {
    const token = signShareToken(SECRET, 'welcome-test', IN_AN_HOUR);
    assert.equal(verifyShareToken(SECRET, 'welcome-test', token, (IN_AN_HOUR + 1) * 1000), false);
  });

  it('when the token is used for another experiment, signed with another secret, or its expiry is pushed out, then it is refused', () => {
    const token = signShareToken(SECRET, 'welcome-test', IN_AN_HOUR);
    assert.equal(verifyShareToken(SECRET, 'other-test', token, NOW), false);
    assert.equal(verifyShareToken(`${SECRET}x`, 'welcome-test', token, NOW), false);
    const [, mac] = token.split('.');
    assert.equal(verifyShareToken(SECRET, 'welcome-test', `${IN_AN_HOUR + 86400}.${mac}`, NOW), false);
  });

  it('when one character of the MAC changes or the token is malformed, then it is refused without throwing', () => {
    const token = signShareToken(SECRET, 'welcome-test', IN_AN_HOUR);
    const at = token.indexOf('.') + 10;
    const changed = `${token.slice(0, at)}${token[at] === 'A' ? 'B' : 'A'}${token.slice(at + 1)}`;
    assert.equal(verifyShareToken(SECRET, 'welcome-test', changed, NOW), false);
    const lastSpelling = `${token.slice(0, -1)}${token.at(-1) === 'A' ? 'B' : 'A'}`;
    assert.equal(verifyShareToken(SECRET, 'welcome-test', lastSpelling, NOW), false);
    for (const bad of [undefined, '', 'abc', `${IN_AN_HOUR}`, `${IN_AN_HOUR}.`, `${IN_AN_HOUR}.short`, `x${token}`, ['a']]) {
      assert.equal(verifyShareToken(SECRET, 'welcome-test', bad, NOW), false, String(bad));
    }
  });

  it('when the token is spelled any other way than the one it was issued in, then it is refused', () => {
    // An expiry whose MAC holds a "-" or "_" (it varies until it does), so the substitutions apply.
    let expiresAt = IN_AN_HOUR;
    while (!/[-_]/.test(signShareToken(SECRET, 'welcome-test', expiresAt).split('.')[1])) expiresAt++;
    const token = signShareToken(SECRET, 'welcome-test', expiresAt);
    const [expiry, mac] = token.split('.') as [string, string];
    assert.equal(verifyShareToken(SECRET, 'welcome-test', token, NOW), true, 'the canonical spelling is valid');
    const standard = (text: string) => text.replace(/-/g, '+').replace(/_/g, '/');
    const variants: [string, string][] = [
      ['a leading zero on the expiry', `0${token}`],
      ['two leading zeros on the expiry', `00${token}`],
      ['the MAC with + and /', `${expiry}.${standard(mac)}`],
      ['the MAC padded', `${expiry}.${mac}=`],
      ['the MAC in standard base64', `${expiry}.${Buffer.from(mac, 'base64url').toString('base64')}`],
    ];
    for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_') {
      if (c !== mac.at(-1)) variants.push([`the MAC ending in ${c}`, `${expiry}.${mac.slice(0, -1)}${c}`]);
    }
    for (const [what, variant] of variants) assert.equal(verifyShareToken(SECRET, 'welcome-test', variant, NOW), false, what);
  });

  it('when expiresIn is an ISO-8601 duration or whole seconds, then it is converted to seconds', () => {
    assert.deepEqual(parseExpiresIn('P7D'), { seconds: 7 * 86400 });
    assert.deepEqual(parseExpiresIn('PT12H'), { seconds: 12 * 3600 });
    assert.deepEqual(parseExpiresIn('P1W'), { seconds: 604800 });
    assert.deepEqual(parseExpiresIn('P1DT2H30M15S'), { seconds: 86400 + 2 * 3600 + 30 * 60 + 15 });
    assert.deepEqual(parseExpiresIn('pt90m'), { seconds: 5400 });
    assert.deepEqual(parseExpiresIn(3600), { seconds: 3600 });
    assert.deepEqual(parseExpiresIn('3600'), { seconds: 3600 });
    assert.deepEqual(parseExpiresIn('P90D'), { seconds: MAX_SHARE_SECONDS });
  });

  it('when expiresIn is malformed, uses years or months, or is out of range, then an error says why', () => {
    for (const bad of ['P', 'PT', 'P1DT', '7 days', 'P1Y', 'P1M', 'P-1D', 1.5, -5]) {
      assert.ok('error' in parseExpiresIn(bad), String(bad));
    }
    assert.match((parseExpiresIn('P91D') as { error: string }).error, /90 days/);
    assert.match((parseExpiresIn(10) as { error: string }).error, /at least 60/);
  });
});
