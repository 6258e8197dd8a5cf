// Signed tracking tokens: every public link (open pixel, click, survey, unsubscribe, honeypot) carries
// its own facts, HMAC-SHA256 signed, so the endpoints need no lookup to trust them and nobody can forge
// a redirect target, an answer or an unsubscribe for someone else.
import crypto from 'node:crypto';
import { decodeBase64urlStrict } from '../../lib/base64url';

export const TOKEN_PURPOSES = ['open', 'click', 'survey', 'unsubscribe', 'honeypot'] as const;
export type TokenPurpose = (typeof TOKEN_PURPOSES)[number];

export interface TrackingPayload {
  messageId: string;
  customerId: string;
  experiment: string;
  variant: string;
  purpose: TokenPurpose;
  /** The click URL (click), the survey metric (survey); empty for the other purposes. */
  target?: string;
}

const VERSION = 1;
// 16 bytes of MAC (128 bits) keep links short while staying far beyond guessing.
const MAC_BYTES = 16;
const MAC_CHARS = Math.ceil((MAC_BYTES * 4) / 3);
const MAX_TOKEN_CHARS = 8192;
const CODES: Record<TokenPurpose, string> = { open: 'o', click: 'c', survey: 's', unsubscribe: 'u', honeypot: 'h' };
const PURPOSE_BY_CODE = new Map(Object.entries(CODES).map(([purpose, code]) => [code, purpose as TokenPurpose]));

export interface TrackingSettings {
  /** TRACKING_SECRET, or the development secret kept under DATA_DIR (see dev-secrets). */
  trackingSecret: string;
  /** Where public links point: PUBLIC_BASE_URL, or the local listener in development. */
  publicBaseUrl: string;
}

let settings: { secret: Buffer; publicBaseUrl: string; given: TrackingSettings } | undefined;

/** Given by the composition root (src/wiring.ts) before any token is signed or checked. */
export function configureTracking(given: TrackingSettings): void {
  settings = { secret: Buffer.from(given.trackingSecret, 'utf8'), publicBaseUrl: given.publicBaseUrl.replace(/\/+$/, ''), given: { ...given } };
}

/** The settings given to configureTracking (a render thread is configured with the same ones). */
export function readTrackingSettings(): TrackingSettings {
  return configured().given;
}

function configured(): NonNullable<typeof settings> {
  if (!settings) throw new Error('tracking is not configured (configureTracking, called by the composition root)');
  return settings;
}

function trackingSecret(): Buffer {
  return configured().secret;
}

function mac(encodedPayload: string): Buffer {
  // Domain-separated, so a MAC made for another use of the same secret can never pass here.
  return crypto.createHmac('sha256', trackingSecret()).update(`verdict-tracking:v${VERSION}:${encodedPayload}`).digest().subarray(0, MAC_BYTES);
}

/** A compact, URL-safe token: base64url(JSON array of the fields) "." base64url(MAC). */
export function signToken(payload: TrackingPayload): string {
  const fields = [VERSION, CODES[payload.purpose], payload.messageId, payload.customerId, payload.experiment, payload.variant, payload.target ?? ''];
  const encoded = Buffer.from(JSON.stringify(fields), 'utf8').toString('base64url');
  return `${encoded}.${mac(encoded).toString('base64url')}`;
}

/** The payload of a genuine token; null for anything tampered, truncated or malformed. */
export function verifyToken(token: string): TrackingPayload | null {
  if (typeof token !== 'string' || token.length > MAX_TOKEN_CHARS) return null;
  const dot = token.lastIndexOf('.');
  if (dot <= 0 || token.length - dot - 1 !== MAC_CHARS) return null;
  const encoded = token.slice(0, dot);
  // One spelling per token: both parts must be canonical base64url (see lib/base64url) before the MAC check.
  const payloadBytes = decodeBase64urlStrict(encoded);
  const given = decodeBase64urlStrict(token.slice(dot + 1));
  if (!payloadBytes || payloadBytes.length === 0 || !given) return null;
  const expected = mac(encoded);
  if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) return null;
  let fields: unknown;
  try {
    fields = JSON.parse(payloadBytes.toString('utf8'));
  } catch {
    return null;
  }
  if (!Array.isArray(fields) || fields.length !== 7 || fields[0] !== VERSION) return null;
  const [, code, messageId, customerId, experiment, variant, target] = fields as unknown[];
  const purpose = typeof code === 'string' ? PURPOSE_BY_CODE.get(code) : undefined;
  if (!purpose) return null;
  for (const field of [messageId, customerId, experiment, variant, target]) if (typeof field !== 'string') return null;
  return {
    messageId: messageId as string,
    customerId: customerId as string,
    experiment: experiment as string,
    variant: variant as string,
    purpose,
    ...(target !== '' ? { target: target as string } : {}),
  };
}

// Short links (SMS, where every character is paid for): the same secret, MAC and strict base64url, but
// the token carries only a reference to the message (9 bytes, chosen by the sender and stored with the
// message's facts) and 8 bytes of MAC: 23 characters in all, beyond guessing behind the public rate limit.
const SHORT_REF_BYTES = 9;
const SHORT_MAC_BYTES = 8;
const SHORT_REF_CHARS = (SHORT_REF_BYTES * 4) / 3;
const SHORT_TOKEN_CHARS = SHORT_REF_CHARS + Math.ceil((SHORT_MAC_BYTES * 4) / 3);

function shortMac(ref: string): Buffer {
  return crypto.createHmac('sha256', trackingSecret()).update(`verdict-tracking:short:v${VERSION}:${ref}`).digest().subarray(0, SHORT_MAC_BYTES);
}

/** A message reference for a short link: 9 bytes derived from the message id, base64url (12 characters). */
export function shortReference(messageId: string): string {
  return crypto.createHash('sha256').update(`verdict-short:${messageId}`).digest().subarray(0, SHORT_REF_BYTES).toString('base64url');
}

/** The short token of a reference: the reference followed by its MAC (no separator: both are fixed length). */
export function signShortToken(ref: string): string {
  return `${ref}${shortMac(ref).toString('base64url')}`;
}

/** The reference of a genuine short token; null for anything tampered, truncated or malformed. */
export function verifyShortToken(token: string): string | null {
  if (typeof token !== 'string' || token.length !== SHORT_TOKEN_CHARS) return null;
  const ref = token.slice(0, SHORT_REF_CHARS);
  const refBytes = decodeBase64urlStrict(ref);
  const given = decodeBase64urlStrict(token.slice(SHORT_REF_CHARS));
  if (!refBytes || refBytes.length !== SHORT_REF_BYTES || !given) return null;
  const expected = shortMac(ref);
  return given.length === expected.length && crypto.timingSafeEqual(given, expected) ? ref : null;
}

/** Where public links point (TrackingSettings.publicBaseUrl, without a trailing slash). */
export function publicBaseUrl(): string {
  return configured().publicBaseUrl;
}

export const trackingUrls = {
  open: (token: string) => `${publicBaseUrl()}/t/o/${token}`,
  click: (token: string) => `${publicBaseUrl()}/t/c/${token}`,
  survey: (token: string, score: number) => `${publicBaseUrl()}/s/${token}?score=${score}`,
  unsubscribe: (token: string) => `${publicBaseUrl()}/u/${token}`,
  /** An SMS's one link (click, then the survey): /m/<short token>. */
  short: (token: string) => `${publicBaseUrl()}/m/${token}`,
};
