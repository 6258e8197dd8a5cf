// What an email variant decides about its sending besides the content: the From display name and the
// send time (docs/decisions.md#what-email-variants-may-vary). Pure: no I/O.
import { isoDurationToMs } from '../../lib/duration';
import type { ExperimentRecord } from '../experiments';

export interface SendingRules {
  fromName?: string;
  /** Absolute: no message of the variant before this time. */
  sendAt?: Date;
  /** Relative: this long after the send (test or winner) starts. */
  sendDelayMs?: number;
}

/** The rules in a variant's content (validated on the way in; anything else is ignored). */
export function sendingRulesOf(content: Record<string, unknown> | undefined): SendingRules {
  const rules: SendingRules = {};
  if (!content) return rules;
  if (typeof content.fromName === 'string' && content.fromName !== '') rules.fromName = content.fromName;
  if (typeof content.sendAt === 'string') {
    const at = new Date(content.sendAt);
    if (Number.isFinite(at.getTime())) rules.sendAt = at;
  }
  if (typeof content.sendDelay === 'string') {
    const ms = isoDurationToMs(content.sendDelay);
    if (ms !== null) rules.sendDelayMs = ms;
  }
  return rules;
}

export function variantRules(experiment: ExperimentRecord, variant: string): SendingRules {
  return sendingRulesOf(experiment.variants.find((v) => v.key === variant)?.content);
}

/**
 * When the messages of a send that started at `startedAt` may go out: sendDelay after the start, sendAt
 * (or at once when that time has passed), else at once. Derived from stored facts only, so a resumed
 * enqueue computes the same time.
 */
export function sendTimeOf(rules: SendingRules, startedAt: Date): Date {
  if (rules.sendDelayMs !== undefined) return new Date(startedAt.getTime() + rules.sendDelayMs);
  if (rules.sendAt && rules.sendAt.getTime() > startedAt.getTime()) return rules.sendAt;
  return startedAt;
}

/** The address of "Name <address>" or of a bare address. */
export function addressOf(mailbox: string): string {
  return /<([^<>]+)>\s*$/.exec(mailbox)?.[1] ?? mailbox.trim();
}

/**
 * The From header: the campaign's mailbox, or its address under the variant's display name. Given to
 * nodemailer as {name, address}, which quotes or encodes the name (RFC 5322 / RFC 2047) so it can never
 * become another header.
 */
export function fromHeaderOf(campaignFrom: string, fromName: string | undefined): string | { name: string; address: string } {
  return fromName ? { name: fromName, address: addressOf(campaignFrom) } : campaignFrom;
}
