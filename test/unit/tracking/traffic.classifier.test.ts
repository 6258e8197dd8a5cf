import assert from 'node:assert/strict';
import { classifyClick, classifyOpen, isAppleAddress, type ClickHit } from '../../../src/modules/tracking/traffic.classifier';

const CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36';
const sentAt = new Date('2025-01-01T10:00:00Z');
const later = (ms: number) => new Date(sentAt.getTime() + ms);

describe('traffic classifier', () => {
  describe('opens', () => {
    it('when Apple Mail Privacy Protection fetches with a bare "Mozilla/5.0", then the open is a privacy-proxy open', () => {
      assert.deepEqual(classifyOpen({ userAgent: 'Mozilla/5.0', at: later(3_600_000), sentAt }), { human: false, reason: 'apple_mpp' });
    });

    it("when the pixel is fetched from Apple's 17.0.0.0/8 network, then the open is a privacy-proxy open", () => {
      assert.equal(isAppleAddress('::ffff:17.58.100.1'), true);
      assert.equal(isAppleAddress('170.1.1.1'), false);
      assert.deepEqual(classifyOpen({ userAgent: CHROME, ip: '17.1.2.3', at: later(3_600_000) }), { human: false, reason: 'apple_mpp' });
    });

    it('when the pixel is fetched within seconds of delivery, then the open is a prefetch', () => {
      assert.deepEqual(classifyOpen({ userAgent: CHROME, at: later(2_000), sentAt }), { human: false, reason: 'soon_after_delivery' });
    });

    it("when Gmail's image proxy fetches long after delivery, then it is a person's open through a proxy", () => {
      const agent = 'Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)';
      assert.deepEqual(classifyOpen({ userAgent: agent, at: later(600_000), sentAt }), { human: true, proxy: 'google_image_proxy' });
    });

    it('when a browser fetches the pixel and the delivery time is unknown, then the open is human', () => {
      assert.deepEqual(classifyOpen({ userAgent: CHROME, at: later(0) }), { human: true });
    });
  });

  describe('clicks', () => {
    const hit = (id: string, ms: number, extra: Partial<ClickHit> = {}): ClickHit => ({ id, messageId: 'm1', purpose: 'click', target: `https://acme.example/${id}`, at: later(ms), agent: 'browser', ...extra });

    it('when a known scanner agent clicks, then the click is a scanner click', () => {
      const h = hit('a', 600_000, { agent: 'scanner' });
      assert.equal(classifyClick(h, [h], sentAt), 'scanner_agent');
    });

    it('when a link is clicked within 5 seconds of delivery, then the click is a scanner click', () => {
      const h = hit('a', 1_500);
      assert.equal(classifyClick(h, [h], sentAt), 'soon_after_delivery');
    });

    it('when two different links of one message are clicked within 2 seconds, then both are scanner clicks', () => {
      const a = hit('a', 600_000);
      const b = hit('b', 600_900);
      assert.equal(classifyClick(a, [a, b], sentAt), 'link_burst');
      assert.equal(classifyClick(b, [a, b], sentAt), 'link_burst');
    });

    it('when survey score links are followed in a burst, then every score is a scanner\'s; a score alone later is a person\'s', () => {
      const scores = Array.from({ length: 11 }, (_, score) => hit(`s${score}`, 600_000 + score * 150, { purpose: 'survey', target: `survey:nps:${score}` }));
      for (const score of scores) assert.equal(classifyClick(score, scores, sentAt), 'link_burst');
      const choice = hit('choice', 600_000 + 11 * 150 + 5_000, { purpose: 'survey', target: 'survey:nps:8' });
      assert.equal(classifyClick(choice, [...scores, choice], sentAt), null);
      const trap = hit('trap', 700_000, { purpose: 'honeypot' });
      const trapped = hit('trapped', 701_000, { purpose: 'survey', target: 'survey:nps:3' });
      assert.equal(classifyClick(trapped, [trap, trapped], sentAt), 'honeypot');
    });

    it('when the same link is clicked twice quickly, then it is still a person (double click)', () => {
      const a = hit('a', 600_000);
      const again = { ...hit('a2', 600_300), target: a.target! };
      assert.equal(classifyClick(a, [a, again], sentAt), null);
    });

    it('when the honeypot link of a message was hit, then clicks around it are scanner clicks', () => {
      const trap = hit('trap', 600_000, { purpose: 'honeypot' });
      delete (trap as { target?: string }).target;
      const after = hit('a', 620_000);
      const before = hit('b', 597_000);
      const wellAfter = hit('c', 700_000);
      assert.equal(classifyClick(after, [trap, after], sentAt), 'honeypot');
      assert.equal(classifyClick(before, [trap, before], sentAt), 'honeypot');
      assert.equal(classifyClick(wellAfter, [trap, wellAfter], sentAt), null);
      assert.equal(classifyClick(trap, [trap], sentAt), 'honeypot');
    });

    it('when a person clicks one link minutes after delivery, then the click is human', () => {
      const a = hit('a', 300_000);
      assert.equal(classifyClick(a, [a, hit('b', 900_000)], sentAt), null);
    });
  });
});
