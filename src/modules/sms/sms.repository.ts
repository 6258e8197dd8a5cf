// The only code touching the SMS collections; everything is insert-only, read by _id where it is hot.
import { collectionOf } from '../../db/connection';
import { insertNew } from '../../db/insert-new';
import {
  SmsInboundModel,
  SmsLinkModel,
  SmsReceiptModel,
  SmsSubmissionModel,
  type SmsInboundRecord,
  type SmsLinkRecord,
  type SmsReceiptRecord,
  type SmsReceiptStatus,
  type SmsSubmissionRecord,
} from './sms.model';

const links = () => collectionOf<SmsLinkRecord>(SmsLinkModel);
const submissions = () => collectionOf<SmsSubmissionRecord>(SmsSubmissionModel);
const receipts = () => collectionOf<SmsReceiptRecord>(SmsReceiptModel);
const inbound = () => collectionOf<SmsInboundRecord>(SmsInboundModel);

export const smsRepository = {
  async insertLink(record: SmsLinkRecord): Promise<void> {
    await insertNew(links(), [record]);
  },

  async findLink(ref: string): Promise<SmsLinkRecord | null> {
    return links().findOne({ _id: ref });
  },

  async insertSubmission(record: SmsSubmissionRecord): Promise<void> {
    await insertNew(submissions(), [record]);
  },

  async findSubmission(smscId: string): Promise<SmsSubmissionRecord | null> {
    return submissions().findOne({ _id: smscId });
  },

  /** The latest message sent to a number (a scan on the embedded database: opt-outs are rare). */
  async latestSubmissionTo(phoneKey: string): Promise<SmsSubmissionRecord | null> {
    return submissions().find({ phoneKey }).sort({ at: -1, _id: 1 }).limit(1).next();
  },

  /** Inserts the receipt unless the message has one already; true when it was new. */
  async insertReceipt(record: SmsReceiptRecord): Promise<boolean> {
    return !(await insertNew(receipts(), [record])).has(record._id);
  },

  async insertInbound(record: SmsInboundRecord): Promise<boolean> {
    return !(await insertNew(inbound(), [record])).has(record._id);
  },

  async receiptCounts(campaign: string): Promise<{ phase: string; variant: string; status: SmsReceiptStatus; n: number }[]> {
    const rows = await receipts()
      .aggregate<{ _id: { phase: string; variant: string; status: SmsReceiptStatus }; n: number }>([
        { $match: { campaign } },
        { $group: { _id: { phase: '$phase', variant: '$variant', status: '$status' }, n: { $sum: '$n' } } },
      ])
      .toArray();
    return rows.map((row) => ({ ...row._id, n: row.n }));
  },
};
