import { Schema, model } from 'mongoose';
import { ROLES } from '../../middleware/auth';

export interface ApiKeyDocument {
  _id: string; // sha256 of the key: lookups by _id are the fast path on every backend
  name: string;
  role: (typeof ROLES)[number];
  prefix: string;
  createdAt: Date;
  createdBy: string;
  revokedAt?: Date;
}

const apiKeySchema = new Schema<ApiKeyDocument>(
  {
    _id: { type: String, required: true },
    name: { type: String, required: true },
    role: { type: String, enum: ROLES, required: true },
    prefix: { type: String, required: true },
    createdAt: { type: Date, required: true },
    createdBy: { type: String, required: true },
    revokedAt: { type: Date },
  },
  { versionKey: false, collection: 'api_keys' },
);

export const ApiKeyModel = model<ApiKeyDocument>('ApiKey', apiKeySchema);
