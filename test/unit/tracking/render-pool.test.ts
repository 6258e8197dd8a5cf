import assert from 'node:assert/strict';
import type { ExperimentRecord } from '../../../src/modules/experiments';
import { closeRenderPool, configureTracking, renderCampaignMessage, renderMessages, verifyToken, type RenderChunk } from '../../../src/modules/tracking';
import { readTrackingSettings } from '../../../src/modules/tracking/tokens.service';
import { experimentRecord } from '../../helpers/factories';

const experiment = (): ExperimentRecord =>
  experimentRecord({
    _id: 'render-pool',
    seed: 'render-pool',
    variants: [
      { key: 'control', weight: 0.5, content: { subject: 'Hello {{name}}', html: '<p>Hello {{name}}, <a href="https://acme.example/start">start</a></p>' } },
      { key: 'broken', weight: 0.5, content: { subject: 'no html' } },
    ],
    metrics: { primary: 'email_open', secondary: ['nps'], guardrails: [], custom: [] },
  });

const chunkOf = (exp: ExperimentRecord, n: number): RenderChunk => ({
  campaign: { key: 'render-pool-campaign', from: 'cx@acme.example' },
  experiment: exp,
  items: Array.from({ length: n }, (_, i) => ({
    messageId: `render-pool:test:c${i}`,
    variant: 'control',
    survey: i % 2 === 0,
    recipient: { customerId: `c${i}`, email: `c${i}@example.org`, name: `Customer <${i}>`, ...(i % 3 === 0 ? { locale: 'fa' } : {}) },
  })),
});

describe('render pool', function () {
  // The thread loads the rendering code on first use.
  this.timeout(60_000);
  after(() => closeRenderPool());

  it('when a chunk is rendered on the render thread, then every message is exactly what rendering here gives', async () => {
    const chunk = chunkOf(experiment(), 25);
    const outcomes = await renderMessages(chunk);
    assert.equal(outcomes.length, 25);
    outcomes.forEach((outcome, i) => {
      assert.ok('message' in outcome, JSON.stringify(outcome));
      assert.deepEqual(outcome.message, renderCampaignMessage({ campaign: chunk.campaign, experiment: chunk.experiment, ...chunk.items[i] }), `message ${i}`);
    });
  });

  it('when one message cannot be rendered, then its outcome says why and the others are rendered', async () => {
    const chunk = chunkOf(experiment(), 3);
    chunk.items[1] = { ...chunk.items[1], variant: 'broken' };
    const outcomes = await renderMessages(chunk);
    assert.ok('message' in outcomes[0] && 'message' in outcomes[2]);
    assert.ok('error' in outcomes[1] && outcomes[1].error.includes('not email content'), JSON.stringify(outcomes[1]));
  });

  it('when the tracking settings change, then the render thread signs and links with the new ones', async () => {
    const before = readTrackingSettings();
    try {
      configureTracking({ trackingSecret: 'another-secret-0123456789abcdef0123456789', publicBaseUrl: 'https://links.other.example' });
      const [outcome] = await renderMessages(chunkOf(experiment(), 1));
      assert.ok('message' in outcome);
      assert.ok(outcome.message.links.unsubscribe.startsWith('https://links.other.example/u/'), outcome.message.links.unsubscribe);
      // Signed with the new secret: it verifies here, where that secret is configured.
      assert.equal(verifyToken(outcome.message.links.unsubscribe.split('/').pop()!)?.purpose, 'unsubscribe');
    } finally {
      configureTracking(before);
    }
  });
});
