// What an SMSC says, as data: delivery receipts (SMPP 3.4 appendix B, "id:… sub:… dlvrd:… submit date:…
// done date:… stat:DELIVRD err:… text:…", plus the receipted_message_id and message_state TLVs some
// SMSCs send instead) and how a submit_sm answer's status is handled. Pure: no I/O.
import type { SmsReceiptStatus } from './sms.model';

export interface DeliveryReceipt {
  /** The SMSC's id of the submitted message (the submit_sm_resp message_id). */
  id: string;
  /** The final state as the receipt spells it (DELIVRD, EXPIRED, UNDELIV, REJECTD, DELETED, UNKNOWN). */
  stat: string;
  err?: string;
  /** What it counts as; null for a state that is not final (ENROUTE, ACCEPTD). */
  status: SmsReceiptStatus | null;
}

const FINAL: Record<string, SmsReceiptStatus> = {
  DELIVRD: 'delivered',
  EXPIRED: 'expired',
  UNDELIV: 'failed',
  REJECTD: 'failed',
  DELETED: 'failed',
  UNKNOWN: 'failed',
};
// message_state TLV values (SMPP 3.4 §5.2.28).
const STATE_NAMES: Record<number, string> = { 1: 'ENROUTE', 2: 'DELIVRD', 3: 'EXPIRED', 4: 'DELETED', 5: 'UNDELIV', 6: 'ACCEPTD', 7: 'UNKNOWN', 8: 'REJECTD' };

/** esm_class of a deliver_sm: bits 2-5 say what it is; 0x04 is an SMSC delivery receipt. */
export function isDeliveryReceipt(esmClass: number | undefined): boolean {
  return ((esmClass ?? 0) & 0x3c) === 0x04;
}

/** The receipt in a deliver_sm's text and TLVs; null when it names no message. */
export function parseDeliveryReceipt(text: string, tlv: { receiptedMessageId?: string; messageState?: number } = {}): DeliveryReceipt | null {
  const id = tlv.receiptedMessageId?.trim() || /(?:^|\s)id:(\S+)/i.exec(text)?.[1];
  const stat = (/(?:^|\s)stat:(\w+)/i.exec(text)?.[1] ?? (tlv.messageState !== undefined ? STATE_NAMES[tlv.messageState] : undefined))?.toUpperCase();
  if (!id || !stat) return null;
  const err = /(?:^|\s)err:(\w+)/i.exec(text)?.[1];
  return { id, stat, ...(err !== undefined ? { err } : {}), status: FINAL[stat] ?? null };
}

/** SMPP command_status values that mean "slow down", not "refused": the submit is tried again after a wait. */
export const THROTTLING_STATUSES = new Set([0x58 /* ESME_RTHROTTLED */, 0x14 /* ESME_RMSGQFUL */]);

/** How a submit_sm answer is handled: sent, throttled (wait and retry), or refused for good. */
export function submitOutcome(commandStatus: number): 'sent' | 'throttled' | 'refused' {
  if (commandStatus === 0) return 'sent';
  return THROTTLING_STATUSES.has(commandStatus) ? 'throttled' : 'refused';
}

/** The wait before retry `attempt` (1, 2, …) of a throttled submit: doubling from `baseMs`, at most `maxMs`, ±20 %. */
export function throttleBackoffMs(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  return Math.min(maxMs, baseMs * 2 ** (attempt - 1)) * (0.8 + random() * 0.4);
}

/**
 * A rate of `perSecond` messages (0: no limit), as a schedule: each call takes the next free slot and
 * answers how long to wait for it. The clock is given, so the schedule is the same in tests.
 */
export function rateSchedule(perSecond: number, now: () => number = Date.now): () => number {
  let next = 0;
  return () => {
    if (perSecond <= 0) return 0;
    const at = Math.max(now(), next);
    next = at + 1000 / perSecond;
    return at - now();
  };
}

/** A sender id: up to 11 letters and digits (alphanumeric, TON 5), or an E.164 number (international, TON 1). */
export function senderAddress(from: string): { addr: string; ton: number; npi: number } {
  return /^\+\d+$/.test(from) ? { addr: from.slice(1), ton: 1, npi: 1 } : { addr: from, ton: 5, npi: 0 };
}

/**
 * Messaging apps fetch a link to show its preview (and mail-style scanners follow links): such a fetch is
 * not a person opening it. No user agent at all counts as automated too.
 */
export function linkPreviewAgent(userAgent: string | undefined): boolean {
  if (!userAgent?.trim()) return true;
  return /bot\b|crawler|spider|preview|facebookexternalhit|whatsapp|telegram|slack|discord|skypeuripreview|viber|line\/|okhttp|curl\/|wget|python-requests|go-http-client|headless/i.test(userAgent);
}
