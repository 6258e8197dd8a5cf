// The small pages a recipient sees after a survey click or an unsubscribe link. Every value is escaped
// and the pages run no script (helmet's Content-Security-Policy, src/app.ts, forbids any), so a token or
// comment cannot inject anything.
import type { SurveyMetricInfo } from '../experiments';
import { escapeHtml } from './rendering.service';
import { fill, formatNumber, isRtl, surveyWords, words, type Locale } from './locales.catalogue';

export const PAGE_HEADERS: Record<string, string> = {
  'Content-Type': 'text/html; charset=utf-8',
  'Cache-Control': 'no-store',
  'X-Robots-Tag': 'noindex, nofollow',
};

const STYLE =
  'body{font-family:system-ui,-apple-system,"Segoe UI",Tahoma,Arial,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#1a1a1a;line-height:1.5}' +
  'h1{font-size:1.5rem}textarea{width:100%;min-height:6rem;font:inherit;box-sizing:border-box}button{font:inherit;padding:.5rem 1.25rem;margin-top:.75rem;cursor:pointer}';

function page(locale: Locale, title: string, body: string): string {
  return (
    `<!doctype html><html lang="${locale}" dir="${isRtl(locale) ? 'rtl' : 'ltr'}"><head><meta charset="utf-8">` +
    `<meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex, nofollow">` +
    `<title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body>${body}</body></html>`
  );
}

/**
 * Thank-you page, with the optional comment box posting back to the same token (relative URL): the
 * survey's follow-up question when it has one, else an open invitation to add something.
 */
export function thankYouPage(locale: Locale, token: string, metric: SurveyMetricInfo, score: number, commented: boolean, answer?: string, followUp?: string): string {
  const w = words(locale);
  const recorded = `<p>${escapeHtml(fill(w.answerRecorded, { score: formatNumber(locale, score) }))}</p>`;
  const form = commented
    ? `<p>${escapeHtml(w.commentRecorded)}</p>`
    : `<form method="post" action="${escapeHtml(token)}">` +
      `<input type="hidden" name="score" value="${score}">` +
      (answer ? `<input type="hidden" name="answer" value="${escapeHtml(answer)}">` : '') +
      `<label for="comment">${escapeHtml(followUp ?? w.commentPrompt)}</label>` +
      `<textarea id="comment" name="comment" maxlength="5000"></textarea>` +
      `<button type="submit">${escapeHtml(w.send)}</button></form>`;
  return page(locale, w.thanksTitle, `<h1>${escapeHtml(w.thanksTitle)}</h1><p>${escapeHtml(surveyWords(locale, metric).question)}</p>${recorded}${form}`);
}

export function unsubscribeConfirmPage(locale: Locale, token: string): string {
  const w = words(locale);
  return page(
    locale,
    w.unsubscribeTitle,
    `<h1>${escapeHtml(w.unsubscribeTitle)}</h1><p>${escapeHtml(w.unsubscribeQuestion)}</p>` +
      `<form method="post" action="${escapeHtml(token)}"><button type="submit">${escapeHtml(w.unsubscribeButton)}</button></form>`,
  );
}

export function unsubscribedPage(locale: Locale): string {
  const w = words(locale);
  return page(locale, w.unsubscribeTitle, `<h1>${escapeHtml(w.unsubscribed)}</h1><p>${escapeHtml(w.unsubscribedDetail)}</p>`);
}

export function invalidLinkPage(locale: Locale): string {
  const w = words(locale);
  return page(locale, w.invalidLink, `<h1>${escapeHtml(w.invalidLink)}</h1>`);
}

export function invalidScorePage(locale: Locale, scale: { min: number; max: number }): string {
  const w = words(locale);
  const message = fill(w.invalidScore, { min: formatNumber(locale, scale.min), max: formatNumber(locale, scale.max) });
  return page(locale, message, `<h1>${escapeHtml(message)}</h1>`);
}

/** A blank page for the honeypot link (it must not redirect anywhere). */
export function blankPage(): string {
  return '<!doctype html><html><head><meta charset="utf-8"><meta name="robots" content="noindex, nofollow"><title></title></head><body></body></html>';
}
