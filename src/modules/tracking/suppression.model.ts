import { Schema, model } from 'mongoose';

/**
 * One entry per suppressed identity, insert-only: `customer:<customerId>` and, separately,
 * `email:<sha256 of the lowercased address>` (the address itself is never stored), and for SMS
 * `phone:<sha256 of the E.164 number>`.
 */
export interface SuppressionRecord {
  _id: string;
  kind: 'customer' | 'email' | 'phone';
  customerId: string;
  source: string;
  experiment?: string;
  messageId?: string;
  createdAt: Date;
}

const suppressionSchema = new Schema<SuppressionRecord>(
  {
    _id: String,
    kind: { type: String, required: true },
    customerId: { type: String, required: true },
    source: { type: String, required: true },
    experiment: String,
    messageId: String,
    createdAt: { type: Date, required: true },
  },
  { versionKey: false, collection: 'suppressions' },
);

export const SuppressionModel = model<SuppressionRecord>('Suppression', suppressionSchema);
