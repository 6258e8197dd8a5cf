// The suppression list: customers (and email addresses, by hash) who unsubscribed. Insert-only and
// idempotent, so repeated one-click POSTs and retries change nothing after the first.
import { createHash } from 'node:crypto';
import type { SuppressionRecord } from './suppression.model';
import { suppressionRepository } from './suppression.repository';

export function customerSuppressionId(customerId: string): string {
  return `customer:${customerId}`;
}

/** The address is normalised (trimmed, lowercased) and hashed, so the list never holds raw emails. */
export function emailSuppressionId(email: string): string {
  return `email:${createHash('sha256').update(email.trim().toLowerCase()).digest('hex')}`;
}

/** A phone number (E.164) is hashed the same way: SMS opt-outs hold no raw numbers either. */
export function phoneSuppressionId(phone: string): string {
  return `phone:${createHash('sha256').update(phone.trim()).digest('hex')}`;
}

export interface UnsubscribeInput {
  customerId: string;
  email?: string;
  /** SMS: the number that opted out (E.164). */
  phone?: string;
  /** Where it came from, e.g. 'one_click', 'link', 'api', 'complaint'. */
  source: string;
  experiment?: string;
  messageId?: string;
}

interface Recipient {
  customerId?: string;
  email?: string;
  phone?: string;
}

function suppressionIds(who: Recipient): string[] {
  return [...(who.customerId ? [customerSuppressionId(who.customerId)] : []), ...(who.email ? [emailSuppressionId(who.email)] : []), ...(who.phone ? [phoneSuppressionId(who.phone)] : [])];
}

export const suppressionService = {
  async isSuppressed(who: Recipient): Promise<boolean> {
    const ids = suppressionIds(who);
    if (ids.length === 0) return false;
    return suppressionRepository.anyExists(ids);
  },

  /** Which of many recipients are suppressed (by customer or by address), in one read a chunk. */
  async suppressedAmong<R extends Recipient>(recipients: R[]): Promise<Set<R>> {
    const suppressed = await suppressionRepository.existing(recipients.flatMap(suppressionIds));
    return new Set(recipients.filter((who) => suppressionIds(who).some((id) => suppressed.has(id))));
  },

  /** Suppresses the customer (and the address, when known); `created` is false when it already was. */
  async unsubscribe(input: UnsubscribeInput): Promise<{ created: boolean }> {
    const createdAt = new Date();
    const common = {
      customerId: input.customerId,
      source: input.source,
      ...(input.experiment !== undefined ? { experiment: input.experiment } : {}),
      ...(input.messageId !== undefined ? { messageId: input.messageId } : {}),
      createdAt,
    };
    const records: SuppressionRecord[] = [{ _id: customerSuppressionId(input.customerId), kind: 'customer', ...common }];
    if (input.email) records.push({ _id: emailSuppressionId(input.email), kind: 'email', ...common });
    if (input.phone) records.push({ _id: phoneSuppressionId(input.phone), kind: 'phone', ...common });
    const existed = await suppressionRepository.insert(records);
    return { created: !existed.has(records[0]._id) };
  },
};
