import assert from 'node:assert/strict';
import { isDeliveryReceipt, parseDeliveryReceipt, rateSchedule, senderAddress, submitOutcome, throttleBackoffMs } from '../../../src/modules/sms/sms.protocol';

describe('SMPP protocol facts', () => {
  it('when a receipt text names its message and state, then delivered, failed and expired are told apart and intermediate states count nothing', () => {
    const text = (stat: string) => `id:7a1f0c sub:001 dlvrd:001 submit date:2612020400 done date:2612020401 stat:${stat} err:000 text:Hi Reza`;
    assert.deepEqual(parseDeliveryReceipt(text('DELIVRD')), { id: '7a1f0c', stat: 'DELIVRD', err: '000', status: 'delivered' });
    assert.equal(parseDeliveryReceipt(text('UNDELIV'))?.status, 'failed');
    assert.equal(parseDeliveryReceipt(text('REJECTD'))?.status, 'failed');
    assert.equal(parseDeliveryReceipt(text('EXPIRED'))?.status, 'expired');
    assert.equal(parseDeliveryReceipt(text('ENROUTE'))?.status, null);
    assert.equal(parseDeliveryReceipt('hello there'), null);
    // Some SMSCs put the facts in TLVs instead.
    assert.deepEqual(parseDeliveryReceipt('', { receiptedMessageId: 'abc', messageState: 3 }), { id: 'abc', stat: 'EXPIRED', status: 'expired' });
  });

  it('when esm_class says receipt (0x04), then it is a receipt; an ordinary inbound message is not', () => {
    assert.equal(isDeliveryReceipt(0x04), true);
    assert.equal(isDeliveryReceipt(0x44), true);
    assert.equal(isDeliveryReceipt(0x00), false);
    assert.equal(isDeliveryReceipt(0x40), false);
  });

  it('when the SMSC answers a submit, then 0 is sent, throttling statuses are retried and others refused', () => {
    assert.equal(submitOutcome(0), 'sent');
    assert.equal(submitOutcome(0x58), 'throttled');
    assert.equal(submitOutcome(0x14), 'throttled');
    assert.equal(submitOutcome(0x0b), 'refused');
    assert.equal(throttleBackoffMs(1, 100, 1000, () => 0.5), 100);
    assert.equal(throttleBackoffMs(3, 100, 1000, () => 0.5), 400);
    assert.equal(throttleBackoffMs(10, 100, 1000, () => 0.5), 1000);
  });

  it('when messages are scheduled at a rate, then each waits for its slot on the given clock', () => {
    let now = 1000;
    const next = rateSchedule(10, () => now);
    assert.deepEqual([next(), next(), next()], [0, 100, 200]);
    now = 1500;
    assert.equal(next(), 0);
    const unlimited = rateSchedule(0, () => now);
    assert.deepEqual([unlimited(), unlimited()], [0, 0]);
  });

  it('when the sender is a name or a number, then TON/NPI follow (alphanumeric 5/0, international 1/1 without the +)', () => {
    assert.deepEqual(senderAddress('AcmeCare'), { addr: 'AcmeCare', ton: 5, npi: 0 });
    assert.deepEqual(senderAddress('+4915112345678'), { addr: '4915112345678', ton: 1, npi: 1 });
  });
});
