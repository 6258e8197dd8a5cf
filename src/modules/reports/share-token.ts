// Signed, expiring share links for the HTML report. Pure: no I/O. A token is `<expiry>.<mac>` where
// expiry is Unix seconds and mac = HMAC-SHA256(secret, "verdict-report\n<key>\n<expiry>"), base64url.
// The purpose prefix keeps these MACs from being valid for any other signed link made with the same secret.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { decodeBase64urlStrict } from '../../lib/base64url';
import { isoDurationToMs } from '../../lib/duration';

const PURPOSE = 'verdict-report';
// One spelling per token: the expiry in decimal without leading zeros, the MAC in canonical base64url.
const TOKEN_PATTERN = /^(0|[1-9]\d{0,11})\.([A-Za-z0-9_-]{43})$/;

export const DEFAULT_SHARE_SECONDS = 7 * 24 * 3600;
export const MAX_SHARE_SECONDS = 90 * 24 * 3600;
export const MIN_SHARE_SECONDS = 60;

function mac(secret: string, key: string, expiresAt: number): Buffer {
  return createHmac('sha256', secret).update(`${PURPOSE}\n${key}\n${expiresAt}`, 'utf8').digest();
}

/** A token for `key`, valid until `expiresAt` (Unix seconds). */
export function signShareToken(secret: string, key: string, expiresAt: number): string {
  return `${expiresAt}.${mac(secret, key, expiresAt).toString('base64url')}`;
}

/**
 * True when the token was made with this secret for this key and has not expired. The MAC comparison
 * is constant-time; the shape check before it only looks at public structure, not the secret.
 */
export function verifyShareToken(secret: string, key: string, token: unknown, nowMs: number = Date.now()): boolean {
  if (typeof token !== 'string') return false;
  const match = TOKEN_PATTERN.exec(token);
  if (!match) return false;
  const expiresAt = Number(match[1]);
  // Strict decoding refuses the other spellings of the last character (and '+', '/', padding).
  const given = decodeBase64urlStrict(match[2]);
  if (!given) return false;
  const expected = mac(secret, key, expiresAt);
  const valid = given.length === expected.length && timingSafeEqual(given, expected);
  return valid && expiresAt * 1000 > nowMs;
}

/**
 * Seconds from an ISO-8601 duration (PnW, PnDTnHnMnS) or a whole number of seconds. Years and months
 * are refused: their length depends on the calendar. Returns an error message instead of throwing.
 */
export function parseExpiresIn(value: string | number): { seconds: number } | { error: string } {
  let seconds: number;
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) return { error: 'must be a whole number of seconds or an ISO-8601 duration such as P7D or PT12H' };
    seconds = value;
  } else if (/^\d{1,10}$/.test(value)) {
    seconds = Number(value);
  } else {
    const ms = isoDurationToMs(value.toUpperCase());
    if (ms === null || ms % 1000 !== 0) {
      return { error: 'must be a whole number of seconds or an ISO-8601 duration such as P7D, PT12H or P1W (years and months are not accepted)' };
    }
    seconds = ms / 1000;
  }
  if (seconds < MIN_SHARE_SECONDS) return { error: `must be at least ${MIN_SHARE_SECONDS} seconds` };
  if (seconds > MAX_SHARE_SECONDS) return { error: 'must be at most 90 days (P90D)' };
  return { seconds };
}
