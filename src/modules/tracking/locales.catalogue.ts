// Words the recipient sees (survey block, thank-you, unsubscribe and error pages) per language.
// Fields in braces are filled by text(); numbers are written with the locale's digits.
import type { SurveyMetric, SurveyMetricInfo } from '../experiments';

export const LOCALES = ['en', 'fa', 'ar'] as const;
export type Locale = (typeof LOCALES)[number];
const RTL = new Set<Locale>(['fa', 'ar']);

interface Words {
  question: Record<SurveyMetric, string>;
  low: Record<SurveyMetric, string>;
  high: Record<SurveyMetric, string>;
  /** The question of a library or custom survey metric, by its {name}, and its scale's ends. */
  otherQuestion: string;
  otherLow: string;
  otherHigh: string;
  unsubscribeLink: string;
  thanksTitle: string;
  answerRecorded: string;
  commentPrompt: string;
  /** The built-in follow-up question (a survey's `followUp: true`). */
  followUp: string;
  send: string;
  commentRecorded: string;
  unsubscribeTitle: string;
  unsubscribeQuestion: string;
  unsubscribeButton: string;
  unsubscribed: string;
  unsubscribedDetail: string;
  invalidLink: string;
  invalidScore: string;
}

const WORDS: Record<Locale, Words> = {
  en: {
    question: {
      csat: 'How satisfied are you with us?',
      nps: 'How likely are you to recommend us to a friend or colleague?',
      ces: 'How much effort did it take to get what you needed?',
    },
    low: { csat: 'Very unsatisfied', nps: 'Not at all likely', ces: 'Very little effort' },
    high: { csat: 'Very satisfied', nps: 'Extremely likely', ces: 'A lot of effort' },
    otherQuestion: 'Please choose a score: {name}',
    otherLow: 'Lowest',
    otherHigh: 'Highest',
    unsubscribeLink: 'Unsubscribe',
    thanksTitle: 'Thank you!',
    answerRecorded: 'Your answer has been recorded: {score}.',
    commentPrompt: 'Anything you would like to add? (optional)',
    followUp: 'What is the main reason for your score?',
    send: 'Send',
    commentRecorded: 'Your comment has been recorded. Thank you!',
    unsubscribeTitle: 'Unsubscribe',
    unsubscribeQuestion: 'Do you want to stop receiving these emails?',
    unsubscribeButton: 'Unsubscribe',
    unsubscribed: 'You have been unsubscribed.',
    unsubscribedDetail: 'You will not receive further emails of this kind.',
    invalidLink: 'This link is not valid.',
    invalidScore: 'That score is not on the scale from {min} to {max}.',
  },
  fa: {
    question: {
      csat: 'چقدر از ما راضی هستید؟',
      nps: 'چقدر احتمال دارد ما را به دوست یا همکارتان پیشنهاد کنید؟',
      ces: 'برای رسیدن به آنچه نیاز داشتید چقدر زحمت کشیدید؟',
    },
    low: { csat: 'بسیار ناراضی', nps: 'اصلاً محتمل نیست', ces: 'زحمت بسیار کم' },
    high: { csat: 'بسیار راضی', nps: 'بسیار محتمل است', ces: 'زحمت بسیار زیاد' },
    otherQuestion: 'لطفاً امتیاز دهید: {name}',
    otherLow: 'کمترین',
    otherHigh: 'بیشترین',
    unsubscribeLink: 'لغو اشتراک',
    thanksTitle: 'سپاسگزاریم!',
    answerRecorded: 'پاسخ شما ثبت شد: {score}.',
    commentPrompt: 'نکته‌ای برای افزودن دارید؟ (اختیاری)',
    followUp: 'دلیل اصلی امتیاز شما چیست؟',
    send: 'ارسال',
    commentRecorded: 'نظر شما ثبت شد. سپاسگزاریم!',
    unsubscribeTitle: 'لغو اشتراک',
    unsubscribeQuestion: 'آیا می‌خواهید دیگر این ایمیل‌ها را دریافت نکنید؟',
    unsubscribeButton: 'لغو اشتراک',
    unsubscribed: 'اشتراک شما لغو شد.',
    unsubscribedDetail: 'دیگر ایمیلی از این نوع دریافت نخواهید کرد.',
    invalidLink: 'این پیوند معتبر نیست.',
    invalidScore: 'این امتیاز در بازهٔ {min} تا {max} نیست.',
  },
  ar: {
    question: {
      csat: 'ما مدى رضاك عنا؟',
      nps: 'ما مدى احتمال أن توصي بنا لصديق أو زميل؟',
      ces: 'ما مقدار الجهد الذي بذلته للحصول على ما تحتاجه؟',
    },
    low: { csat: 'غير راضٍ إطلاقًا', nps: 'غير محتمل إطلاقًا', ces: 'جهد قليل جدًا' },
    high: { csat: 'راضٍ جدًا', nps: 'محتمل جدًا', ces: 'جهد كبير جدًا' },
    otherQuestion: 'يرجى اختيار درجة: {name}',
    otherLow: 'الأدنى',
    otherHigh: 'الأعلى',
    unsubscribeLink: 'إلغاء الاشتراك',
    thanksTitle: 'شكرًا لك!',
    answerRecorded: 'تم تسجيل إجابتك: {score}.',
    commentPrompt: 'هل تود إضافة شيء؟ (اختياري)',
    followUp: 'ما السبب الرئيسي لتقييمك؟',
    send: 'إرسال',
    commentRecorded: 'تم تسجيل تعليقك. شكرًا لك!',
    unsubscribeTitle: 'إلغاء الاشتراك',
    unsubscribeQuestion: 'هل تريد التوقف عن تلقي هذه الرسائل؟',
    unsubscribeButton: 'إلغاء الاشتراك',
    unsubscribed: 'تم إلغاء اشتراكك.',
    unsubscribedDetail: 'لن تتلقى رسائل أخرى من هذا النوع.',
    invalidLink: 'هذا الرابط غير صالح.',
    invalidScore: 'هذه الدرجة ليست ضمن المقياس من {min} إلى {max}.',
  },
};

/** The supported language for a tag like "fa-IR" or "AR"; English when unsupported or absent. */
export function resolveLocale(tag: string | undefined | null): Locale {
  const base = (tag ?? '').trim().toLowerCase().split(/[-_]/)[0] ?? '';
  return (LOCALES as readonly string[]).includes(base) ? (base as Locale) : 'en';
}

/** The first supported language of an Accept-Language header, by quality. */
export function localeFromAcceptLanguage(header: string | undefined): Locale | undefined {
  if (!header) return undefined;
  const ranked = header
    .split(',')
    .map((part, index) => {
      const [tag = '', ...params] = part.trim().split(';');
      const q = params.map((p) => /^\s*q=([0-9.]+)\s*$/.exec(p)?.[1]).find((v) => v !== undefined);
      return { tag: tag.trim(), q: q === undefined ? 1 : Number(q), index };
    })
    .filter((entry) => entry.tag && entry.q > 0)
    .sort((a, b) => b.q - a.q || a.index - b.index);
  for (const entry of ranked) {
    const base = entry.tag.toLowerCase().split('-')[0];
    if ((LOCALES as readonly string[]).includes(base)) return base as Locale;
  }
  return undefined;
}

export function isRtl(locale: Locale): boolean {
  return RTL.has(locale);
}

export function words(locale: Locale): Words {
  return WORDS[locale];
}

/** A number in the locale's digits (Persian and Arabic-Indic digits for fa and ar). */
export function formatNumber(locale: Locale, value: number): string {
  let format = numberFormats.get(locale);
  // Building an Intl.NumberFormat costs far more than using one (it was a tenth of a send's CPU).
  if (!format) numberFormats.set(locale, (format = new Intl.NumberFormat(locale, { useGrouping: false })));
  return format.format(value);
}
const numberFormats = new Map<Locale, Intl.NumberFormat>();

/** A survey metric's question and the words at the ends of its scale: the built-in ones, or a neutral question by its name. */
export function surveyWords(locale: Locale, metric: SurveyMetricInfo): { question: string; low: string; high: string } {
  const w = WORDS[locale];
  if (metric.builtIn) return { question: w.question[metric.builtIn], low: w.low[metric.builtIn], high: w.high[metric.builtIn] };
  return { question: fill(w.otherQuestion, { name: metric.label }), low: w.otherLow, high: w.otherHigh };
}

/** Fills {fields}; values are inserted as given (callers escape for HTML afterwards). */
export function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (match, name: string) => values[name] ?? match);
}
