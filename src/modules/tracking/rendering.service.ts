// Renders one campaign message for one recipient: the variant's Handlebars templates (HTML-escaped by
// default), every http(s) link rewritten to a signed click link, a hidden preheader and honeypot link,
// a one-click survey block, an unsubscribe link, the open pixel, a text part and RFC 8058 headers.
import type Handlebars from 'handlebars';
import { compile } from 'html-to-text';
import { LRUCache } from 'lru-cache';
import { surveyMetricsOf, type ExperimentRecord, type SurveyMetricInfo } from '../experiments';
import { formatNumber, isRtl, resolveLocale, surveyWords, words, type Locale } from './locales.catalogue';
import { compileOptions, EMAIL_TEMPLATE_FIELDS, handlebars, type TemplateMode } from '../../lib/email-templates';
import { signToken, trackingUrls, type TrackingPayload } from './tokens.service';

/** The html as a reader sees it, for the text part: the converter is compiled once (per message it cost a sixth of a send). */
let toText: ((html: string) => string) | undefined;
function htmlToText(html: string): string {
  toText ??= compile({
    wordwrap: 78,
    selectors: [
      { selector: 'img', format: 'skip' },
      { selector: 'a', options: { hideLinkHrefIfSameAsText: true } },
    ],
  });
  return toText(html);
}

export interface RenderInput {
  campaign: { key: string; from: string; replyTo?: string };
  messageId: string;
  experiment: ExperimentRecord;
  variant: string;
  recipient: { customerId: string; email: string; name?: string; locale?: string; attributes?: Record<string, unknown> };
  /** false: no survey block (the customer was invited to this survey within the frequency cap's period). */
  survey?: boolean;
}

export interface RenderedMessage {
  subject: string;
  html: string;
  text: string;
  headers: Record<string, string>;
  links: {
    open: string;
    clicks: { url: string; tracked: string }[];
    survey: { metric: string; score: number; url: string }[];
    unsubscribe: string;
  };
}

// The isolated Handlebars environment and its options are in src/lib/email-templates.ts, shared with the check that
// refuses a variant whose templates do not compile.
const MAX_CACHED_TEMPLATES = 1000;
// Keyed by the source itself: every message of a send renders the same string of the cached experiment,
// whose hash the engine computes once (a digest of the source per message cost more than the render).
const templates: Record<TemplateMode, Map<string, Handlebars.TemplateDelegate>> = { html: new Map(), plain: new Map() };

/**
 * Compiles a template once (keyed by its source, so an edited draft variant gets a fresh compile).
 * HTML templates escape by default; subject and text are not HTML, so they are compiled without it.
 */
function template(source: string, mode: TemplateMode = 'html'): Handlebars.TemplateDelegate {
  const cache = templates[mode];
  let compiled = cache.get(source);
  if (!compiled) {
    compiled = handlebars.compile(source, compileOptions(mode));
    if (cache.size >= MAX_CACHED_TEMPLATES) cache.delete(cache.keys().next().value!);
    cache.set(source, compiled);
  }
  return compiled;
}

/**
 * The survey metric a message asks about: the first survey metric among primary, secondary, guardrails
 * (csat, nps, ces, or a library or custom survey metric, on its own scale).
 */
export function surveyMetricOf(experiment: ExperimentRecord): SurveyMetricInfo | undefined {
  return surveyMetricsOf(experiment)[0];
}

/** Escapes text and double- or single-quoted attribute values. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const NAMED_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };

/** Decodes the entities an attribute value may hold, giving the URL a browser would follow. */
export function decodeHtmlAttribute(value: string): string {
  return value.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (match, entity: string) => {
    if (entity.startsWith('#')) {
      const code = entity[1] === 'x' || entity[1] === 'X' ? parseInt(entity.slice(2), 16) : parseInt(entity.slice(1), 10);
      return Number.isFinite(code) && code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : match;
    }
    return NAMED_ENTITIES[entity.toLowerCase()] ?? match;
  });
}

const ANCHOR_TAG = /<a\b[^>]*>/gi;
const HREF_ATTRIBUTE = /(\shref\s*=\s*)("([^"]*)"|'([^']*)'|([^\s"'>]+))/i;

/** Rewrites every http(s) <a href> to the URL makeLink returns for its exact (decoded) target. */
export function rewriteLinks(html: string, makeLink: (url: string) => string): string {
  return html.replace(ANCHOR_TAG, (tag) =>
    tag.replace(HREF_ATTRIBUTE, (attribute, prefix: string, _quoted, doubleQuoted?: string, singleQuoted?: string, bare?: string) => {
      const raw = doubleQuoted ?? singleQuoted ?? bare ?? '';
      const url = decodeHtmlAttribute(raw).trim();
      if (!/^https?:\/\//i.test(url)) return attribute;
      return `${prefix}"${escapeHtml(makeLink(url))}"`;
    }),
  );
}

/** Inserts after <body ...> (or at the start) and before </body> (or at the end). */
function wrapBody(html: string, start: string, end: string): string {
  const open = /<body\b[^>]*>/i.exec(html);
  let result = open ? html.slice(0, open.index + open[0].length) + start + html.slice(open.index + open[0].length) : start + html;
  const close = result.toLowerCase().lastIndexOf('</body>');
  result = close >= 0 ? result.slice(0, close) + end + result.slice(close) : result + end;
  return result;
}

function surveyBlock(metric: SurveyMetricInfo, locale: Locale, links: { score: number; url: string }[]): string {
  const w = surveyWords(locale, metric);
  const dir = isRtl(locale) ? 'rtl' : 'ltr';
  const cells = links
    .map(
      (link) =>
        `<td style="padding:2px"><a href="${escapeHtml(link.url)}" style="display:inline-block;min-width:28px;padding:6px 4px;border:1px solid #8a8f98;border-radius:4px;text-align:center;text-decoration:none;color:#1a1a1a;font-family:Arial,sans-serif;font-size:14px">${escapeHtml(formatNumber(locale, link.score))}</a></td>`,
    )
    .join('');
  return (
    `<div dir="${dir}" lang="${locale}" style="margin:24px 0;font-family:Arial,sans-serif" data-verdict="survey">` +
    `<p style="margin:0 0 8px;font-size:15px">${escapeHtml(w.question)}</p>` +
    `<table role="presentation" cellpadding="0" cellspacing="0" border="0"><tr>${cells}</tr></table>` +
    `<p style="margin:4px 0 0;font-size:12px;color:#5f6368">${escapeHtml(formatNumber(locale, links[0].score))} = ${escapeHtml(w.low)} · ${escapeHtml(formatNumber(locale, links[links.length - 1].score))} = ${escapeHtml(w.high)}</p>` +
    `</div>`
  );
}

function surveyText(metric: SurveyMetricInfo, locale: Locale, links: { score: number; url: string }[]): string {
  const w = surveyWords(locale, metric);
  const lines = links.map((link) => `${formatNumber(locale, link.score)}: ${link.url}`);
  return [w.question, `(${formatNumber(locale, links[0].score)} = ${w.low}, ${formatNumber(locale, links[links.length - 1].score)} = ${w.high})`, ...lines].join('\n');
}

// The survey block and its text lines are the same in every message of a survey metric and language
// but for the message's survey token: they are built once with a marker where the token goes, kept
// split at the marker, and joined with each message's token (a NUL never occurs in them otherwise).
const TOKEN_SLOT = '\u0000';
const surveyParts = new LRUCache<string, { html: string[]; text: string[] }>({ max: 500 });

function surveyFor(metric: SurveyMetricInfo, locale: Locale, token: string): { html: string; text: string } {
  // The base URL is part of the key: links are built with the base configured now.
  const key = JSON.stringify([trackingUrls.survey('', 0), locale, metric.key, metric.scale.min, metric.scale.max, metric.label, metric.builtIn ?? null]);
  let parts = surveyParts.get(key);
  if (!parts) {
    const links: { score: number; url: string }[] = [];
    for (let score = metric.scale.min; score <= metric.scale.max; score++) links.push({ score, url: trackingUrls.survey(TOKEN_SLOT, score) });
    parts = { html: surveyBlock(metric, locale, links).split(TOKEN_SLOT), text: surveyText(metric, locale, links).split(TOKEN_SLOT) };
    surveyParts.set(key, parts);
  }
  return { html: parts.html.join(token), text: parts.text.join(token) };
}

const HTTP_URL_IN_TEXT = /https?:\/\/[^\s<>"')\]]+/gi;

/** Header-safe token: no line breaks, colons or spaces (Feedback-ID fields are colon separated). */
function headerField(value: string): string {
  return value.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 64);
}

export function renderCampaignMessage(input: RenderInput): RenderedMessage {
  const { experiment, recipient } = input;
  const variant = experiment.variants.find((v) => v.key === input.variant);
  if (!variant) throw new Error(`experiment "${experiment._id}" has no variant "${input.variant}"`);
  const content = variant.content as { subject?: unknown; html?: unknown; text?: unknown; preheader?: unknown };
  if (typeof content.subject !== 'string' || typeof content.html !== 'string') {
    throw new Error(`variant "${input.variant}" of experiment "${experiment._id}" is not email content`);
  }
  const locale = resolveLocale(recipient.locale);
  const context = {
    name: recipient.name ?? '',
    email: recipient.email,
    locale: recipient.locale ?? '',
    customerId: recipient.customerId,
    attributes: recipient.attributes ?? {},
  };
  const base: Omit<TrackingPayload, 'purpose' | 'target'> = {
    messageId: input.messageId,
    customerId: recipient.customerId,
    experiment: experiment._id,
    variant: input.variant,
  };
  const sign = (purpose: TrackingPayload['purpose'], target?: string) => signToken({ ...base, purpose, ...(target !== undefined ? { target } : {}) });

  // A subject is a header: no HTML escaping there, and no line breaks.
  const subject = template(content.subject, EMAIL_TEMPLATE_FIELDS.subject)(context).replace(/[\r\n]+/g, ' ').trim();

  const clicks = new Map<string, string>();
  const tracked = (url: string) => {
    let link = clicks.get(url);
    if (!link) {
      link = trackingUrls.click(sign('click', url));
      clicks.set(url, link);
    }
    return link;
  };
  const body = rewriteLinks(template(content.html, EMAIL_TEMPLATE_FIELDS.html)(context), tracked);

  const metric = input.survey === false ? undefined : surveyMetricOf(experiment);
  const survey: { metric: string; score: number; url: string }[] = [];
  let surveyContent: { html: string; text: string } | undefined;
  if (metric) {
    const token = sign('survey', metric.key);
    for (let score = metric.scale.min; score <= metric.scale.max; score++) survey.push({ metric: metric.key, score, url: trackingUrls.survey(token, score) });
    surveyContent = surveyFor(metric, locale, token);
  }
  const unsubscribe = trackingUrls.unsubscribe(sign('unsubscribe'));
  const open = trackingUrls.open(sign('open'));
  const honeypot = trackingUrls.click(sign('honeypot'));
  const w = words(locale);
  const dir = isRtl(locale) ? 'rtl' : 'ltr';

  const footer =
    (surveyContent?.html ?? '') +
    `<p dir="${dir}" style="margin:24px 0 0;font-family:Arial,sans-serif;font-size:12px;color:#5f6368"><a href="${escapeHtml(unsubscribe)}" style="color:#5f6368">${escapeHtml(w.unsubscribeLink)}</a></p>`;
  const preheaderText = typeof content.preheader === 'string' ? template(content.preheader, EMAIL_TEMPLATE_FIELDS.preheader)(context).trim() : '';
  const preheader = preheaderText
    ? `<div style="display:none;font-size:1px;line-height:1px;max-height:0;max-width:0;opacity:0;overflow:hidden;mso-hide:all;color:transparent">${preheaderText}</div>`
    : '';
  // Invisible to people, followed by link scanners: a hit on it marks the message's clicks as automated.
  const trap = `<a href="${escapeHtml(honeypot)}" style="display:none;font-size:0;line-height:0;max-height:0;overflow:hidden;mso-hide:all" aria-hidden="true" tabindex="-1">&#8203;</a>`;
  const pixel = `<img src="${escapeHtml(open)}" width="1" height="1" alt="" style="display:block;width:1px;height:1px;border:0" />`;

  const html = wrapBody(body, preheader + trap, footer + pixel);
  // The text part: the variant's text, or the html as a reader sees it (no preheader, honeypot or
  // pixel), then the survey links and the unsubscribe link, one per line.
  const main =
    typeof content.text === 'string' && content.text.trim() !== ''
      ? template(content.text, EMAIL_TEMPLATE_FIELDS.text)(context).replace(HTTP_URL_IN_TEXT, (url) => tracked(url))
      : htmlToText(body);
  const text = [main.trim(), surveyContent?.text ?? '', `${w.unsubscribeLink}: ${unsubscribe}`].filter(Boolean).join('\n\n') + '\n';

  return {
    subject,
    html,
    text,
    headers: {
      'List-Unsubscribe': `<${unsubscribe}>`,
      'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
      // Gmail's feedback loop groups complaints by these fields (no personal data in them).
      'Feedback-ID': `${headerField(input.variant)}:${headerField(experiment._id)}:${headerField(input.campaign.key)}:verdict`,
    },
    links: {
      open,
      clicks: [...clicks.entries()].map(([url, trackedUrl]) => ({ url, tracked: trackedUrl })),
      survey,
      unsubscribe,
    },
  };
}
