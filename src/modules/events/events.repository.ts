import type { Collection } from 'mongodb';
import { collectionOf } from '../../db/connection';
import { findByIds } from '../../db/find-by-ids';
import { insertEach } from '../../db/insert-new';
import { appendRecords, sharedAppend, type Stamped } from '../counting';
import { EventModel, ResponseModel, type EventRecord, type ResponseRecord } from './events.model';

/** Filters on answers (all optional). */
export interface ResponseFilter {
  metric?: string;
  minScore?: number;
  maxScore?: number;
  hasComment?: boolean;
  since?: Date;
}

const events = () => collectionOf<EventRecord>(EventModel);
const responses = () => collectionOf<ResponseRecord>(ResponseModel);

/** Concurrent single answers (the responses route, one-click survey links) share one append. */
const appendResponseShared = sharedAppend<ResponseRecord>(
  'responses',
  (records) => insertEach(responses(), records),
  (ids) => findByIds(responses() as unknown as Collection<Stamped<ResponseRecord>>, ids),
);

export const eventsRepository = {
  /** Stores raw events (counted later by the aggregator); returns the eventIds that were stored before. */
  async insertEvents(records: EventRecord[]): Promise<Set<string>> {
    return appendRecords(
      'events',
      records,
      (stamped) => insertEach(events(), stamped),
      (ids) => findByIds(events() as unknown as Collection<Stamped<EventRecord>>, ids),
    );
  },

  /** Stores an answer; false when its responseId was stored before. */
  async insertResponse(record: ResponseRecord): Promise<boolean> {
    return appendResponseShared(record);
  },

  async findResponse(id: string): Promise<ResponseRecord | null> {
    return ResponseModel.findById(id).lean<ResponseRecord>();
  },

  /** Raw events as stored (with the batch that stored them), for the aggregator. */
  async findEvents(ids: string[]): Promise<Map<string, Stamped<EventRecord>>> {
    return findByIds(events() as unknown as Collection<Stamped<EventRecord>>, ids);
  },

  async findResponses(ids: string[]): Promise<Map<string, Stamped<ResponseRecord>>> {
    return findByIds(responses() as unknown as Collection<Stamped<ResponseRecord>>, ids);
  },

  /** Events that may count for an experiment: those naming it and those naming none. */
  eventsCursor(experiment: string) {
    return events().find({ $or: [{ experiment }, { experiment: { $exists: false } }] });
  },

  /**
   * One batch of the answers that may be an experiment's (naming it or none), newest first by (timestamp,
   * _id), strictly after `after` in that order. The embedded database scans on any filter but _id: callers
   * bound how many batches they read per request.
   */
  async responsesBatch(experiment: string, filter: ResponseFilter, after: { at: Date; id: string } | undefined, limit: number): Promise<ResponseRecord[]> {
    // Its own answers, and those stamped with it; answers stored before the stamp existed are read as before.
    const and: Record<string, unknown>[] = [{ $or: [{ experiment }, { experiments: experiment }, { experiment: { $exists: false }, experiments: { $exists: false } }] }];
    if (filter.metric !== undefined) and.push({ metric: filter.metric });
    if (filter.minScore !== undefined) and.push({ score: { $gte: filter.minScore } });
    if (filter.maxScore !== undefined) and.push({ score: { $lte: filter.maxScore } });
    if (filter.hasComment === true) and.push({ comment: { $exists: true, $nin: [''] } });
    if (filter.hasComment === false) and.push({ $or: [{ comment: { $exists: false } }, { comment: '' }] });
    if (filter.since !== undefined) and.push({ timestamp: { $gte: filter.since } });
    if (after) and.push({ $or: [{ timestamp: { $lt: after.at } }, { timestamp: after.at, _id: { $lt: after.id } }] });
    const found = await responses().find({ $and: and }).sort({ timestamp: -1, _id: -1 }).limit(limit).toArray();
    return found.map((r) => ({
      _id: r._id,
      customerId: r.customerId,
      metric: r.metric,
      score: r.score,
      ...(typeof r.comment === 'string' ? { comment: r.comment } : {}),
      ...(r.experiment !== undefined ? { experiment: r.experiment } : {}),
      timestamp: r.timestamp,
      receivedAt: r.receivedAt,
    }));
  },

  /** Puts a comment on a stored answer (a comment is not counted: the aggregates stay as they are). */
  async setResponseComment(id: string, comment: string): Promise<void> {
    await responses().updateOne({ _id: id }, { $set: { comment } });
  },

  responsesCursor(experiment: string) {
    return responses().find({ $or: [{ experiment }, { experiment: { $exists: false } }] }).sort({ receivedAt: 1, _id: 1 });
  },
};
