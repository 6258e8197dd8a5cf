// What an SMS campaign's answer adds to an email campaign's: per variant, the delivery receipts
// (delivered, expired; undeliverable and rejected ones count as failed, as a refused submit does), the
// clicks of the short link (sms_click) and the encoding and segments of the message as sent, so a
// Persian or Arabic text is priced as UCS-2.
import type { SmsSegmentCount } from '../../lib/sms-segments';
import type { ExperimentRecord } from '../experiments';
import { smsService } from '../sms';
import type { CampaignRecord } from './campaigns.model';

interface VariantCounts {
  variant: string;
  failed: number;
  clicked: number;
}

export interface SmsVariantDetails {
  delivered: number;
  expired: number;
  sms?: SmsSegmentCount;
}

/** Adds the SMS fields to each variant's counts (in place); answers the totals of the receipts. */
export async function addSmsCounts(
  record: CampaignRecord,
  experiment: ExperimentRecord | null,
  variants: VariantCounts[],
  units: (variant: string, metric: string) => number,
): Promise<{ delivered: number; expired: number }> {
  const receipts = await smsService.receiptCounts(record._id);
  const total = { delivered: 0, expired: 0 };
  for (const counts of variants as (VariantCounts & SmsVariantDetails)[]) {
    counts.delivered = 0;
    counts.expired = 0;
    for (const r of receipts) {
      if (r.variant !== counts.variant || r.phase === 'export') continue;
      if (r.status === 'delivered') counts.delivered += r.n;
      else if (r.status === 'expired') counts.expired += r.n;
      else counts.failed += r.n;
    }
    counts.clicked = units(counts.variant, 'sms_click');
    total.delivered += counts.delivered;
    total.expired += counts.expired;
    const text = experiment?.variants.find((v) => v.key === counts.variant)?.content.text;
    if (typeof text === 'string') counts.sms = smsService.estimate(text);
  }
  return total;
}
