import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { backoffMs, deliveryHeaders, signPayload, verifyPayload } from '../../../src/modules/webhooks/webhook-signing';

describe('webhooks: signing and backoff', () => {
  it('when a body is signed, then the signature is the hex HMAC-SHA256 of "<timestamp>.<body>"', () => {
    const expected = createHmac('sha256', 'whsec_test').update('1700000000.{"a":1}').digest('hex');
    assert.equal(signPayload('whsec_test', 1700000000, '{"a":1}'), `sha256=${expected}`);
  });

  it('when the headers are built, then they name the event and delivery and carry a signature the receiver accepts', () => {
    const now = Date.now();
    const timestamp = Math.floor(now / 1000);
    const headers = deliveryHeaders({ event: 'srm.detected', deliveryId: 'dl_1', secret: 's3cret-s3cret-s3cret', body: '{}', timestamp });
    assert.equal(headers['X-Verdict-Event'], 'srm.detected');
    assert.equal(headers['X-Verdict-Delivery'], 'dl_1');
    assert.equal(verifyPayload('s3cret-s3cret-s3cret', headers['X-Verdict-Timestamp'], '{}', headers['X-Verdict-Signature'], 300, now), true);
  });

  it('when the body, the secret or the timestamp differ, or the timestamp is stale, then verification fails', () => {
    const now = Date.now();
    const ts = Math.floor(now / 1000);
    const signature = signPayload('secret-a-secret-a', ts, '{"x":1}');
    assert.equal(verifyPayload('secret-a-secret-a', String(ts), '{"x":2}', signature, 300, now), false);
    assert.equal(verifyPayload('secret-b-secret-b', String(ts), '{"x":1}', signature, 300, now), false);
    assert.equal(verifyPayload('secret-a-secret-a', String(ts + 1), '{"x":1}', signature, 300, now), false);
    assert.equal(verifyPayload('secret-a-secret-a', String(ts), '{"x":1}', signature, 300, now + 301_000), false);
    assert.equal(verifyPayload('secret-a-secret-a', undefined, '{"x":1}', signature, 300, now), false);
  });

  it('when attempts fail one after another, then the wait doubles each time within ±20% and is capped at six hours', () => {
    assert.equal(backoffMs(1, 1000, () => 0.5), 1000);
    assert.equal(backoffMs(2, 1000, () => 0.5), 2000);
    assert.equal(backoffMs(7, 1000, () => 0.5), 64000);
    assert.equal(backoffMs(3, 1000, () => 0), 3200);
    assert.equal(backoffMs(3, 1000, () => 1), 4800);
    assert.equal(backoffMs(40, 30_000, () => 0.5), 6 * 3600 * 1000);
  });
});
