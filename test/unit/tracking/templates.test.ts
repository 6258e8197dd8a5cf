import assert from 'node:assert/strict';
import { renderCampaignMessage } from '../../../src/modules/tracking';
import { emailTemplateProblems, templateProblem } from '../../../src/lib/email-templates';
import { experimentRecord } from '../../helpers/factories';

/** Renders a message whose control variant has this content, as a send does. */
function send(content: Record<string, unknown>) {
  const experiment = experimentRecord({
    _id: 'template-check',
    seed: 'template-check',
    variants: [
      { key: 'control', weight: 0.5, content },
      { key: 'other', weight: 0.5, content: { subject: 'Hi', html: '<p>Hi</p>' } },
    ],
  });
  return renderCampaignMessage({
    campaign: { key: 'c', from: 'cx@acme.example' },
    messageId: 'm',
    experiment,
    variant: 'control',
    recipient: { customerId: 'c1', email: 'ada@example.com', name: 'Ada', attributes: { plan: 'pro' } },
  });
}

const BROKEN: [string, string, number][] = [
  ['an expression', '<p>{{7*7}}</p>', 1],
  ['an unclosed block on line 3', '<p>Hello</p>\n<p>{{name}}</p>\n{{#if attributes.plan}}\n<p>Pro</p>', 4],
  ['mismatched block ends', 'Line one\n{{#if name}}x{{/unless}}', 2],
  ['an unclosed mustache', '<p>{{name</p>', 1],
  ['an invalid path', '<p>{{foo/../bar}}</p>', 1],
  ['an unclosed comment', 'a\nb\n{{!-- note', 3],
  ['a stray else', '{{else}}', 1],
];

const FINE = [
  '<p>Hello {{name}} ({{attributes.plan}})</p>',
  '{{#if name}}Hi {{name}}{{else}}Hello{{/if}}',
  '{{#each attributes}}{{@key}}={{this}} {{/each}}',
  '{{{name}}} {{!-- a comment --}} {{! another }}',
  'No placeholders at all, and a lone }} brace',
  '{{#with attributes}}{{plan}}{{/with}} {{lookup attributes "plan"}}',
];

describe('message templates: the compile check', () => {
  for (const [what, source, line] of BROKEN) {
    it(`when a template has ${what}, then the check names line ${line} and a send of it fails`, () => {
      for (const mode of ['html', 'plain'] as const) {
        const problem = templateProblem(source, mode);
        assert.ok(problem, `${mode}: ${source}`);
        assert.equal(problem.line, line, `${mode}: ${JSON.stringify(problem)}`);
        assert.ok(problem.reason.length > 0 && !problem.reason.includes('\n'));
      }
      // The check agrees with the sender: this template cannot be sent.
      assert.throws(() => send({ subject: 'Hi', html: source }));
      assert.throws(() => send({ subject: source, html: '<p>Hi</p>' }));
    });
  }

  it('when a template compiles, then the check finds nothing and a send of it works', () => {
    for (const source of FINE) {
      assert.equal(templateProblem(source, 'html'), undefined, source);
      assert.equal(templateProblem(source, 'plain'), undefined, source);
      assert.deepEqual(emailTemplateProblems({ subject: source, html: source, text: source, preheader: source }), []);
      const message = send({ subject: source, html: source, text: source, preheader: source });
      assert.equal(typeof message.html, 'string');
    }
  });

  it('when email content has broken templates, then each templated field is named with its line, and other fields are ignored', () => {
    const problems = emailTemplateProblems({
      subject: 'Hi {{7*7}}',
      html: '<p>ok</p>\n<p>{{7*7}}</p>',
      text: 'fine {{name}}',
      preheader: '{{#if x}}',
      url: '{{7*7}}',
    });
    assert.deepEqual(problems.map((p) => p.field), ['subject', 'html', 'preheader']);
    assert.match(problems[0].message, /^template does not compile \(line 1\): /);
    assert.match(problems[1].message, /\(line 2\)/);
    assert.match(problems[1].message, /7\*7/, 'the message shows the text near the error');
    assert.match(problems[2].message, /\(line 1\)/);
    assert.deepEqual(emailTemplateProblems({ url: 'https://acme.example/{{7*7}}' }), [], 'page content has no templates');
  });
});
