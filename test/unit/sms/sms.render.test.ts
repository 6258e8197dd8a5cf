import assert from 'node:assert/strict';
import { estimateSmsSegments, renderSmsText } from '../../../src/modules/sms/sms.render';

const LINK = 'https://v.example/m/AbCdEfGhIjKlMnOpQrStUvW';

describe('SMS text', () => {
  it('when the template names {{link}}, then the link goes there; otherwise on a line after the text; the opt-out line ends it', () => {
    assert.equal(renderSmsText('Hi {{name}}, rate us: {{link}}', { customerId: 'c1', name: 'Ana' }, LINK, 'Reply STOP to opt out'), `Hi Ana, rate us: ${LINK}\nReply STOP to opt out`);
    assert.equal(renderSmsText('Hi {{name}} ({{attributes.plan}})', { customerId: 'c1', name: 'Ana', attributes: { plan: 'pro' } }, LINK, 'Reply STOP to opt out'), `Hi Ana (pro)\n${LINK}\nReply STOP to opt out`);
  });

  it('when a field holds markup, then it is not HTML-escaped (an SMS is plain text)', () => {
    assert.equal(renderSmsText('{{name}}', { customerId: 'c1', name: 'A & B <x>' }, LINK, 'STOP'), `A & B <x>\n${LINK}\nSTOP`);
  });

  it('when a variant is estimated, then the link and the opt-out line are counted, and a Persian opt-out line makes it UCS-2', () => {
    const english = estimateSmsSegments('Hi there', LINK, 'Reply STOP to opt out');
    assert.deepEqual(english, { encoding: 'GSM-7', units: 'Hi there'.length + 1 + LINK.length + 1 + 'Reply STOP to opt out'.length, segments: 1 });
    assert.equal(estimateSmsSegments('Hi there', LINK, 'لغو: ارسال لغو').encoding, 'UCS-2');
  });
});
