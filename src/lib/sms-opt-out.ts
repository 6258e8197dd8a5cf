// Opt-out keywords: which inbound texts mean "stop sending me SMS", and the line every SMS ends with that
// says how, in the recipient's language. Pure: no I/O. The keywords are configurable (SMS_OPT_OUT_KEYWORDS:
// "en:STOP|UNSUBSCRIBE,fa:لغو,ar:إلغاء"), the first of a locale being the one the message names.

export type OptOutKeywords = Record<string, string[]>;

export const DEFAULT_OPT_OUT_KEYWORDS = 'en:STOP|UNSUBSCRIBE|END|QUIT|CANCEL,fa:لغو|توقف|انصراف,ar:إلغاء|الغاء|توقف|ايقاف';

/** "en:STOP|END,fa:لغو" → { en: ['STOP', 'END'], fa: ['لغو'] }; null when it is malformed. */
export function parseOptOutKeywords(text: string): OptOutKeywords | null {
  const result: OptOutKeywords = {};
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const match = /^([a-z]{2,3}):(.+)$/i.exec(part);
    if (!match) return null;
    const words = match[2].split('|').map((w) => w.trim()).filter(Boolean);
    if (words.length === 0 || words.some((w) => /\s/.test(w))) return null;
    (result[match[1].toLowerCase()] ??= []).push(...words);
  }
  return Object.keys(result).length > 0 ? result : null;
}

/**
 * Folds the spellings people type: case, Arabic and Persian letter variants (ي/ی, ك/ک, ة/ه, أ/إ/آ/ا),
 * diacritics, tatweel, ZWNJ and other invisible joiners, Arabic-Indic and Persian digits.
 */
export function normalizeKeyword(text: string): string {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[\u064b-\u065f\u0670\u0640\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g, '')
    .replace(/[يى]/g, 'ی')
    .replace(/ك/g, 'ک')
    .replace(/ة/g, 'ه')
    .replace(/[أإآٱ]/g, 'ا')
    .replace(/[\u0660-\u0669]/g, (d) => String(d.charCodeAt(0) - 0x0660))
    .replace(/[\u06f0-\u06f9]/g, (d) => String(d.charCodeAt(0) - 0x06f0))
    .trim();
}

/** The keyword an inbound text opts out with (its first word, any locale), or null. */
export function optOutKeywordOf(text: string, keywords: OptOutKeywords): string | null {
  const first = normalizeKeyword(text).split(/[\s.,!؟?،:;]+/u).find(Boolean);
  if (!first) return null;
  for (const word of Object.values(keywords).flat()) if (normalizeKeyword(word) === first) return word;
  return null;
}

const LINES: Record<string, string> = {
  en: 'Reply {keyword} to opt out',
  fa: 'لغو: ارسال {keyword}',
  ar: 'لإلغاء الاشتراك أرسل {keyword}',
};

/** The line an SMS ends with, in the recipient's language when its keywords are known, else in English. */
export function optOutLine(locale: string | undefined, keywords: OptOutKeywords): string {
  const language = (locale ?? 'en').slice(0, 2).toLowerCase();
  const lang = LINES[language] && keywords[language]?.length ? language : 'en';
  const keyword = keywords[lang]?.[0] ?? Object.values(keywords)[0]?.[0] ?? 'STOP';
  return LINES[lang].replace('{keyword}', keyword);
}
