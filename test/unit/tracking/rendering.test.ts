import assert from 'node:assert/strict';
import type { ExperimentRecord } from '../../../src/modules/experiments';
import { renderCampaignMessage, verifyToken, type RenderInput } from '../../../src/modules/tracking';
import { experimentRecord } from '../../helpers/factories';

const BASE = 'https://verdict.test';

function experiment(metrics: Partial<ExperimentRecord['metrics']> = {}, content: Record<string, unknown> = {}): ExperimentRecord {
  return experimentRecord({
    variants: [
      {
        key: 'control',
        weight: 0.5,
        content: {
          subject: 'Welcome {{name}}',
          preheader: 'Your first steps, {{name}}',
          html: '<html><body><p>Hello {{name}} ({{attributes.plan}})</p><a href="https://acme.example/start?a=1&amp;b=2">Start</a> <a href=\'https://acme.example/help\'>Help</a> <a href="mailto:help@acme.example">Mail us</a> <a href="#top">Top</a></body></html>',
          ...content,
        },
      },
      { key: 'friendly', weight: 0.5, content: { subject: 'Hi', html: '<p>Hi</p>' } },
    ],
    metrics: { primary: 'email_open', secondary: [], guardrails: [], custom: [], ...metrics },
  });
}

function render(exp: ExperimentRecord, recipient: Partial<RenderInput['recipient']> = {}) {
  return renderCampaignMessage({
    campaign: { key: 'welcome-campaign', from: 'cx@acme.example' },
    messageId: 'msg-1',
    experiment: exp,
    variant: 'control',
    recipient: { customerId: 'cust-1', email: 'ada@example.com', name: 'Ada', attributes: { plan: 'pro' }, ...recipient },
  });
}

const tokenOf = (url: string) => verifyToken(new URL(url).pathname.split('/').pop()!);
const hrefs = (html: string) => [...html.matchAll(/href="([^"]*)"/g)].map((m) => m[1].replace(/&#38;/g, '&'));

describe('message rendering', () => {
  it('when a message is rendered, then the templates are filled from the recipient', () => {
    const message = render(experiment());
    assert.equal(message.subject, 'Welcome Ada');
    assert.match(message.html, /Hello Ada \(pro\)/);
    assert.match(message.html, /display:none[^>]*>Your first steps, Ada<\/div>/);
  });

  it('when the template has http(s) links, then each becomes a signed click link whose target is the exact template URL', () => {
    const message = render(experiment());
    assert.deepEqual(
      message.links.clicks.map((c) => c.url),
      ['https://acme.example/start?a=1&b=2', 'https://acme.example/help'],
    );
    for (const click of message.links.clicks) {
      assert.ok(click.tracked.startsWith(`${BASE}/t/c/`));
      assert.deepEqual(tokenOf(click.tracked), { messageId: 'msg-1', customerId: 'cust-1', experiment: 'welcome-test', variant: 'control', purpose: 'click', target: click.url });
      assert.ok(hrefs(message.html).includes(click.tracked));
    }
    assert.ok(!hrefs(message.html).some((h) => h.startsWith('https://acme.example')), 'no untracked http link left');
    assert.ok(hrefs(message.html).includes('mailto:help@acme.example'));
    assert.ok(hrefs(message.html).includes('#top'));
  });

  it('when a message is rendered, then the open pixel is the last thing in the body and a hidden honeypot link is present', () => {
    const message = render(experiment());
    assert.match(message.html, new RegExp(`<img src="${BASE}/t/o/[^"]+" width="1" height="1"[^>]*/></body></html>$`));
    assert.equal(tokenOf(message.links.open)!.purpose, 'open');
    const honeypot = hrefs(message.html).map((h) => (h.startsWith(`${BASE}/t/c/`) ? tokenOf(h) : null)).find((t) => t?.purpose === 'honeypot');
    assert.ok(honeypot, 'a honeypot link');
  });

  it('when a message is rendered, then it carries RFC 8058 one-click unsubscribe headers and an unsubscribe link', () => {
    const message = render(experiment());
    assert.equal(message.headers['List-Unsubscribe'], `<${message.links.unsubscribe}>`);
    assert.equal(message.headers['List-Unsubscribe-Post'], 'List-Unsubscribe=One-Click');
    assert.ok(message.links.unsubscribe.startsWith(`${BASE}/u/`));
    assert.equal(tokenOf(message.links.unsubscribe)!.purpose, 'unsubscribe');
    assert.ok(hrefs(message.html).includes(message.links.unsubscribe));
  });

  for (const [metric, list, scores] of [
    ['nps', 'primary', [0, 10]],
    ['csat', 'secondary', [1, 5]],
    ['ces', 'guardrails', [1, 7]],
  ] as const) {
    it(`when the experiment measures ${metric}, then the survey block has one link per score from ${scores[0]} to ${scores[1]}`, () => {
      const metrics = list === 'primary' ? { primary: metric } : { [list]: [metric] };
      const message = render(experiment(metrics));
      assert.deepEqual(message.links.survey.map((s) => s.score), Array.from({ length: scores[1] - scores[0] + 1 }, (_, i) => scores[0] + i));
      for (const link of message.links.survey) {
        assert.equal(link.metric, metric);
        assert.ok(link.url.endsWith(`?score=${link.score}`));
        assert.equal(tokenOf(link.url.split('?')[0])!.target, metric);
        assert.ok(hrefs(message.html).includes(link.url));
      }
    });
  }

  it('when messages of one survey metric are rendered one after another, then each survey block and text carries its own token only', () => {
    // The block is built once per metric and language and filled with each message's token.
    const exp = experiment({ secondary: ['nps'] });
    const messages = ['m-a', 'm-b', 'm-c'].map((messageId, i) =>
      renderCampaignMessage({ campaign: { key: 'welcome-campaign', from: 'cx@acme.example' }, messageId, experiment: exp, variant: 'control', recipient: { customerId: `cust-${i}`, email: `c${i}@example.com`, ...(i === 1 ? { locale: 'ar' } : {}) } }),
    );
    messages.forEach((message, i) => {
      const own = message.links.survey.map((link) => link.url);
      assert.equal(own.length, 11);
      const inHtml = hrefs(message.html).filter((href) => href.includes('/s/'));
      assert.deepEqual(inHtml, own, `message ${i}: the html's survey links are its own`);
      const inText = [...message.text.matchAll(/https:\/\/\S+\/s\/\S+/g)].map((m) => m[0]);
      assert.deepEqual(inText, own, `message ${i}: the text's survey links are its own`);
      for (const url of own) assert.equal(tokenOf(url.split('?')[0])!.messageId, ['m-a', 'm-b', 'm-c'][i]);
    });
    assert.match(messages[1].html, /<div dir="rtl" lang="ar"/);
    assert.match(messages[2].html, /<div dir="ltr" lang="en"/);
  });

  it('when the experiment has several survey metrics, then the first of primary, secondary, guardrails is asked', () => {
    const message = render(experiment({ primary: 'email_open', secondary: ['ces', 'nps'], guardrails: ['csat'] }));
    assert.equal(message.links.survey[0].metric, 'ces');
  });

  it('when the customer was invited to the survey within the frequency cap, then the message goes without its survey block', () => {
    const message = renderCampaignMessage({ campaign: { key: 'welcome-campaign', from: 'cx@acme.example' }, messageId: 'msg-2', experiment: experiment({ secondary: ['csat'] }), variant: 'control', survey: false, recipient: { customerId: 'cust-1', email: 'ada@example.com' } });
    assert.deepEqual(message.links.survey, []);
    assert.doesNotMatch(message.html, /data-verdict="survey"|\/s\//);
    assert.doesNotMatch(message.text, /\/s\//);
    assert.match(message.html, /\/u\//);
  });

  it('when the experiment has no survey metric, then there is no survey block', () => {
    const message = render(experiment());
    assert.deepEqual(message.links.survey, []);
    assert.doesNotMatch(message.html, /\/s\//);
  });

  it('when the recipient reads Persian, then the survey block is right-to-left with Persian labels', () => {
    const message = render(experiment({ secondary: ['csat'] }), { locale: 'fa-IR' });
    assert.match(message.html, /<div dir="rtl" lang="fa"[^>]*data-verdict="survey"/);
    assert.match(message.html, /چقدر از ما راضی هستید؟/);
    assert.match(message.html, />۵<\/a>/);
  });

  it('when the name contains HTML, then the html part escapes it and the subject keeps it as plain text', () => {
    const message = render(experiment(), { name: '<script>alert("x")</script>' });
    assert.doesNotMatch(message.html, /<script>/);
    assert.match(message.html, /Hello &lt;script&gt;alert\(&quot;x&quot;\)&lt;\/script&gt;/);
    assert.equal(message.subject, 'Welcome <script>alert("x")</script>');
  });

  it('when the variant has no text part, then one is generated from the html with tracked links and no pixel or honeypot', () => {
    const message = render(experiment({ secondary: ['csat'] }));
    assert.match(message.text, /Hello Ada \(pro\)/);
    for (const click of message.links.clicks) assert.ok(message.text.includes(click.tracked));
    assert.ok(!message.text.includes('https://acme.example/start'));
    assert.ok(message.text.includes(message.links.survey[0].url));
    assert.ok(message.text.includes(message.links.unsubscribe));
    assert.ok(!message.text.includes('/t/o/'));
    assert.ok(!message.text.includes('Your first steps'));
  });

  it('when the variant has a text template, then it is used (unescaped) with its links tracked', () => {
    const message = render(experiment({}, { text: 'Hi {{name}} & co, see https://acme.example/text-only' }), { name: 'Ada <Lovelace>' });
    assert.match(message.text, /^Hi Ada <Lovelace> & co, see https:\/\/verdict\.test\/t\/c\//);
    const click = message.links.clicks.find((c) => c.url === 'https://acme.example/text-only');
    assert.ok(click && message.text.includes(click.tracked));
  });

  it('when the variant is unknown, then rendering fails loudly', () => {
    assert.throws(() => renderCampaignMessage({ campaign: { key: 'c', from: 'a@b.c' }, messageId: 'm', experiment: experiment(), variant: 'nope', recipient: { customerId: 'c', email: 'a@b.c' } }), /no variant "nope"/);
  });
});
