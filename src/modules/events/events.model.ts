import { Schema, model } from 'mongoose';

export interface EventRecord {
  _id: string; // the client's eventId: a retried event is stored, and counted, once
  customerId: string;
  name: string;
  experiment?: string;
  value?: number;
  timestamp: Date;
  properties?: Record<string, unknown>;
  receivedAt: Date;
}

export interface ResponseRecord {
  _id: string; // responseId
  customerId: string;
  /** csat, nps, ces, or a survey metric of the library. */
  metric: string;
  score: number;
  comment?: string;
  experiment?: string;
  /**
   * The experiments the customer was assigned to at or before the answer when it was stored (absent on
   * answers stored before this field existed): what lists an experiment's answers without reading
   * every other experiment's.
   */
  experiments?: string[];
  timestamp: Date;
  receivedAt: Date;
}


const eventSchema = new Schema<EventRecord>(
  {
    _id: String,
    customerId: { type: String, required: true },
    name: { type: String, required: true },
    experiment: String,
    value: Number,
    timestamp: { type: Date, required: true },
    properties: Schema.Types.Mixed,
    receivedAt: { type: Date, required: true },
  },
  { versionKey: false, collection: 'events' },
);

const responseSchema = new Schema<ResponseRecord>(
  {
    _id: String,
    customerId: { type: String, required: true, index: true },
    metric: { type: String, required: true },
    score: { type: Number, required: true },
    comment: String,
    experiment: String,
    experiments: { type: [String], default: undefined },
    timestamp: { type: Date, required: true },
    receivedAt: { type: Date, required: true },
  },
  { versionKey: false, collection: 'responses' },
);


export const EventModel = model<EventRecord>('Event', eventSchema);
export const ResponseModel = model<ResponseRecord>('Response', responseSchema);

