import assert from 'node:assert/strict';
import { addressOf, fromHeaderOf, sendingRulesOf, sendTimeOf } from '../../../src/modules/campaigns/sending-rules';

const START = new Date('2026-12-01T09:00:00Z');

describe('campaign sending rules (pure)', () => {
  it('when a variant has a sendDelay, then it is due that long after the send starts', () => {
    assert.equal(sendTimeOf(sendingRulesOf({ sendDelay: 'PT2H' }), START).toISOString(), '2026-12-01T11:00:00.000Z');
  });

  it('when a variant has a sendAt, then it is due then, or at once when that time has passed', () => {
    assert.equal(sendTimeOf(sendingRulesOf({ sendAt: '2026-12-01T18:30:00+03:30' }), START).toISOString(), '2026-12-01T15:00:00.000Z');
    assert.equal(sendTimeOf(sendingRulesOf({ sendAt: '2026-11-30T09:00:00Z' }), START).getTime(), START.getTime());
  });

  it('when a variant has no send time, then it is due at once', () => {
    assert.equal(sendTimeOf(sendingRulesOf({ subject: 'x' }), START).getTime(), START.getTime());
  });

  it('when a variant has a fromName, then the From header is that name on the campaign\'s address; without, the campaign\'s mailbox', () => {
    assert.equal(addressOf('Acme CX <cx@acme.example>'), 'cx@acme.example');
    assert.equal(addressOf('cx@acme.example'), 'cx@acme.example');
    assert.deepEqual(fromHeaderOf('Acme CX <cx@acme.example>', 'Ana from Acme'), { name: 'Ana from Acme', address: 'cx@acme.example' });
    assert.equal(fromHeaderOf('Acme CX <cx@acme.example>', undefined), 'Acme CX <cx@acme.example>');
  });
});
