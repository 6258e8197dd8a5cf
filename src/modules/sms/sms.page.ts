// The page an SMS's short link opens: the experiment's survey question with one link per score (the
// same signed survey links as in email, so answers go through /s/ and its thank-you page), or a thank-you
// when the experiment asks nothing. Every value is escaped; no script.
import type { SurveyMetricInfo } from '../experiments';
import { escapeHtml, formatNumber, isRtl, surveyWords, words, type Locale } from '../tracking';

export const SMS_PAGE_HEADERS: Record<string, string> = {
  'Content-Type': 'text/html; charset=utf-8',
  'Cache-Control': 'no-store',
  'X-Robots-Tag': 'noindex, nofollow',
};

const STYLE =
  'body{font-family:system-ui,-apple-system,"Segoe UI",Tahoma,Arial,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#1a1a1a;line-height:1.5}' +
  'ol{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.4rem}a.score{display:inline-block;min-width:2.2rem;padding:.5rem;border:1px solid #8a8f98;border-radius:4px;text-align:center;text-decoration:none;color:#1a1a1a}';

function page(locale: Locale, title: string, body: string): string {
  return (
    `<!doctype html><html lang="${locale}" dir="${isRtl(locale) ? 'rtl' : 'ltr'}"><head><meta charset="utf-8">` +
    `<meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex, nofollow">` +
    `<title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body>${body}</body></html>`
  );
}

export function smsSurveyPage(locale: Locale, survey: { metric: SurveyMetricInfo; links: { score: number; url: string }[] } | null): string {
  const w = words(locale);
  if (!survey) return page(locale, w.thanksTitle, `<h1>${escapeHtml(w.thanksTitle)}</h1>`);
  const { metric, links } = survey;
  const scores = links.map((link) => `<li><a class="score" href="${escapeHtml(link.url)}">${escapeHtml(formatNumber(locale, link.score))}</a></li>`).join('');
  const first = links[0];
  const last = links[links.length - 1];
  const asked = surveyWords(locale, metric);
  return page(
    locale,
    asked.question,
    `<h1>${escapeHtml(asked.question)}</h1><ol data-verdict="survey">${scores}</ol>` +
      `<p>${escapeHtml(formatNumber(locale, first.score))} = ${escapeHtml(asked.low)} · ${escapeHtml(formatNumber(locale, last.score))} = ${escapeHtml(asked.high)}</p>`,
  );
}

export function smsInvalidLinkPage(locale: Locale): string {
  const w = words(locale);
  return page(locale, w.invalidLink, `<h1>${escapeHtml(w.invalidLink)}</h1>`);
}
