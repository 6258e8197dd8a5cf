// The counting engine's own collections (see docs/counting.md):
//  - ingest_log, two kinds of entries (one collection, so concurrent requests share their writes):
//    - the opening of a batch (`o:<batch>`): one per write request (or group commit), written BEFORE its
//      raw records; it names the raw records the request is about to store;
//    - its seal (`s:<batch>`): written by the request AFTER its raw records are stored (which of them
//      existed before), or by the aggregator when it takes over a batch whose request died. A seal of a
//      request means "acknowledged": every read that must see acknowledged records waits for the seals
//      it saw.
//    Small: the aggregator deletes both entries once the batch is counted.
//  - counting_state: the aggregator's progress (last applied plan), its current plan, rebuild requests.
//  - counting_taken: batches the aggregator took over, with the records it found then.
import { Schema, model } from 'mongoose';
import { keepInCountingDb } from '../../db/connection';

export type RecordKind = 'assignments' | 'events' | 'responses';

export interface IngestBatchRecord {
  _id: string;
  kind: RecordKind;
  /**
   * The raw records (their _ids) this batch stores; each stored one carries `b` = this batch's _id.
   * Stored as one JSON string (counting.repository).
   */
  ids: string[];
  /** A re-queue after a takeover: count the records among `ids` stored by batch `adopt` that it missed. */
  adopt?: string;
  createdAt: Date;
}

export interface IngestSealRecord {
  _id: string; // the batch's _id
  /** Records of the batch that existed before (duplicates): not stored by it, not counted by it. */
  dups: string[];
  /** Records the batch stored (acknowledged, to be counted). */
  n: number;
  /** Sealed by the aggregator after the request's grace period ran out (the request died). */
  takeover?: boolean;
  at: Date;
}

export interface TakenBatchRecord {
  _id: string;
  /** The records of the batch found stored when it was taken over (counted then). */
  found: string[];
  at: Date;
}

// Openings (`o:<batch>`) and seals (`s:<batch>`) of batches, in one collection (counting.repository).
const logSchema = new Schema({ _id: String, t: String }, { versionKey: false, strict: false, collection: 'ingest_log' });
const takenSchema = new Schema<TakenBatchRecord>({ _id: String, found: [String], at: Date }, { versionKey: false, collection: 'counting_taken' });
const stateSchema = new Schema({ _id: String }, { versionKey: false, strict: false, collection: 'counting_state' });

// In the counting engine's own database (src/db/connection.ts countingDb).
export const IngestLogModel = keepInCountingDb(model('IngestLog', logSchema));
export const TakenBatchModel = keepInCountingDb(model<TakenBatchRecord>('TakenBatch', takenSchema));
export const CountingStateModel = keepInCountingDb(model('CountingState', stateSchema));
