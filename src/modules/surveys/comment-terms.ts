// The terms of a comment (pure, no I/O): words and two-word phrases, for comparing what customers of
// different variants write (themes.ts). Words come from Intl.Segmenter (word granularity, word-like
// segments only), so Persian and Arabic split as well as English; they are lower-cased, their Arabic and
// Persian letter variants made one (ي/ى → ی, ك → ک, hamza-carrying alefs → ا), diacritics and tatweel
// removed, and the zero-width non-joiner dropped (so "می‌خواهم", typed with or without it, is one word).
// Stop words and bare numbers are left out; a phrase is two words next to each other once those are out.
import { STOP_WORDS } from './stop-words';

const LETTER_VARIANTS: Record<string, string> = {
  '\u064A': '\u06CC', // Arabic yeh → Persian yeh
  '\u0649': '\u06CC', // alef maksura → Persian yeh
  '\u0643': '\u06A9', // Arabic kaf → keheh
  '\u0623': '\u0627', // alef with hamza above → alef
  '\u0625': '\u0627', // alef with hamza below → alef
  '\u0671': '\u0627', // alef wasla → alef
};
// Harakat, tanwin, shadda, sukun, superscript alef, Quranic marks; tatweel; zero-width (non-)joiners.
const DROPPED = /[\u064B-\u065F\u0670\u06D6-\u06ED\u0640\u200C\u200D]/g;
const VARIANT = /[\u064A\u0649\u0643\u0623\u0625\u0671]/g;

/** One spelling per word: lower case, one letter per Arabic/Persian variant, no diacritics, tatweel or ZWNJ. */
export function normalizeText(text: string): string {
  return text
    .normalize('NFC')
    .replace(DROPPED, '')
    .replace(VARIANT, (c) => LETTER_VARIANTS[c] ?? c)
    .replace(/\u2019/g, "'")
    .toLowerCase();
}

const stopWords = new Set(Object.values(STOP_WORDS).flat().map(normalizeText));
const segmenter = new Intl.Segmenter(undefined, { granularity: 'word' });

/** The words of a text after normalization, stop words and numbers left out. */
export function commentWords(text: string): string[] {
  const words: string[] = [];
  for (const segment of segmenter.segment(normalizeText(text))) {
    if (!segment.isWordLike) continue;
    const word = segment.segment;
    if (stopWords.has(word) || /^[\p{Nd}.,]+$/u.test(word)) continue;
    words.push(word);
  }
  return words;
}

/** The comment's terms: its words and its two-word phrases ("slow delivery"), with repeats. */
export function commentTerms(text: string): string[] {
  const words = commentWords(text);
  const phrases: string[] = [];
  for (let i = 1; i < words.length; i++) phrases.push(`${words[i - 1]} ${words[i]}`);
  return [...words, ...phrases];
}
