// How deliveries are signed and spaced out. Pure: no I/O.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const MAX_ATTEMPTS = 8;

/** `sha256=<hex>` of HMAC-SHA256(secret, "<timestamp>.<body>"): the timestamp is signed so a capture cannot be replayed later. */
export function signPayload(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`, 'utf8').digest('hex')}`;
}

/** The receiver's check, exported for tests and docs: constant-time, with a freshness window. */
export function verifyPayload(secret: string, timestamp: string | undefined, body: string, signature: string | undefined, toleranceSeconds = 300, nowMs = Date.now()): boolean {
  if (!timestamp || !signature || !/^\d{1,12}$/.test(timestamp)) return false;
  if (Math.abs(nowMs / 1000 - Number(timestamp)) > toleranceSeconds) return false;
  const expected = Buffer.from(signPayload(secret, Number(timestamp), body));
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export function deliveryHeaders(input: { event: string; deliveryId: string; secret: string; body: string; timestamp: number }): Record<string, string> {
  return {
    'Content-Type': 'application/json',
    'User-Agent': 'Verdict-Webhooks/1',
    'X-Verdict-Event': input.event,
    'X-Verdict-Delivery': input.deliveryId,
    'X-Verdict-Timestamp': String(input.timestamp),
    'X-Verdict-Signature': signPayload(input.secret, input.timestamp, input.body),
  };
}

/**
 * Wait before the attempt after `attempt` (1-based): base × 2^(attempt−1), capped at six hours, with
 * ±20% jitter so receivers that come back up are not hit by every sender at once.
 */
export function backoffMs(attempt: number, baseMs: number, random: () => number = Math.random): number {
  const plain = Math.min(baseMs * 2 ** (attempt - 1), 6 * 3600 * 1000);
  return Math.round(plain * (0.8 + 0.4 * random()));
}
