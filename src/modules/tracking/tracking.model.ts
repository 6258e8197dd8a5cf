import { Schema, model } from 'mongoose';

/**
 * A click, honeypot or one-click survey hit waiting to be classified. Insert-only and short-lived: a hit is turned
 * into an event once the hits around it are known, and removed a while later, so the collection stays
 * small enough to read whole (the embedded database scans on anything but _id).
 */
export interface ClickHitRecord {
  _id: string;
  messageId: string;
  customerId: string;
  experiment: string;
  variant: string;
  purpose: 'click' | 'honeypot' | 'survey';
  /** The click URL; a survey hit's metric. */
  target?: string;
  /** A survey hit's score. */
  score?: number;
  agent: 'scanner' | 'none' | 'browser';
  at: Date;
}

const clickHitSchema = new Schema<ClickHitRecord>(
  {
    _id: String,
    messageId: { type: String, required: true },
    customerId: { type: String, required: true },
    experiment: { type: String, required: true },
    variant: { type: String, required: true },
    purpose: { type: String, required: true },
    target: String,
    score: Number,
    agent: { type: String, required: true },
    at: { type: Date, required: true },
  },
  { versionKey: false, collection: 'tracking_click_hits' },
);

export const ClickHitModel = model<ClickHitRecord>('TrackingClickHit', clickHitSchema);
