// How many SMS segments a text costs. Pure: no I/O. A text made only of the GSM 03.38 default alphabet is
// sent as GSM-7: 160 characters in one segment, 153 a segment once it is split (the rest of each segment
// is the concatenation header), and the extension table's characters (€ [ ] { } ^ ~ \ | and form feed)
// take two, an escape and the character, which never straddle two segments. Anything else (Persian,
// Arabic, emoji, most accented letters) makes the whole text UCS-2: 70 UTF-16 code units in one segment,
// 67 a segment once split (a surrogate pair is never split either).

export type SmsEncoding = 'GSM-7' | 'UCS-2';

export interface SmsSegmentCount {
  encoding: SmsEncoding;
  /** Septets (GSM-7, extension characters counting 2) or UTF-16 code units (UCS-2). */
  units: number;
  segments: number;
}

const GSM_BASIC = new Set(
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà',
);
const GSM_EXTENSION = new Set('\f^{}\\[~]|€');

/** SMS data_coding values for the two encodings (SMPP 3.4: 0 = the SMSC default alphabet, 8 = UCS-2). */
export const SMS_DATA_CODING: Record<SmsEncoding, number> = { 'GSM-7': 0x00, 'UCS-2': 0x08 };

/** GSM-7 when every character is in the default alphabet or its extension table, else UCS-2. */
export function smsEncodingOf(text: string): SmsEncoding {
  for (const char of text) if (!GSM_BASIC.has(char) && !GSM_EXTENSION.has(char)) return 'UCS-2';
  return 'GSM-7';
}

/** Packs units into segments of `per` without splitting one character (a width of 2). */
function pack(widths: number[], per: number): number {
  let segments = 1;
  let used = 0;
  for (const width of widths) {
    if (used + width > per) {
      segments++;
      used = 0;
    }
    used += width;
  }
  return segments;
}

export function countSmsSegments(text: string): SmsSegmentCount {
  const encoding = smsEncodingOf(text);
  const widths = Array.from(text, (char) => (encoding === 'GSM-7' ? (GSM_EXTENSION.has(char) ? 2 : 1) : char.length));
  const units = widths.reduce((sum, width) => sum + width, 0);
  const [single, part] = encoding === 'GSM-7' ? [160, 153] : [70, 67];
  return { encoding, units, segments: units <= single ? 1 : pack(widths, part) };
}
