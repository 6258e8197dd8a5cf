import { Schema, model } from 'mongoose';

export interface ClientKeyDocument {
  /** The key itself (`vc_...`): public by design (it sits in web pages), so stored as is and looked up by _id. */
  _id: string;
  name: string;
  /** Origins (scheme://host[:port]) whose pages may use the key from a browser; empty: any origin. */
  allowedOrigins: string[];
  createdAt: Date;
  createdBy: string;
  revokedAt?: Date;
}

const clientKeySchema = new Schema<ClientKeyDocument>(
  {
    _id: { type: String, required: true },
    name: { type: String, required: true },
    allowedOrigins: { type: [String], default: () => [] },
    createdAt: { type: Date, required: true },
    createdBy: { type: String, required: true },
    revokedAt: { type: Date },
  },
  { versionKey: false, collection: 'client_keys' },
);

export const ClientKeyModel = model<ClientKeyDocument>('ClientKey', clientKeySchema);
