import type { Collection } from 'mongodb';
import { collectionOf } from '../../db/connection';
import { findByIds } from '../../db/find-by-ids';
import { insertEach } from '../../db/insert-new';
import { appendRecords, sharedAppend, type Stamped } from '../counting';
import { EventModel, ResponseModel, type EventRecord, type ResponseRecord } from './events.model';

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

  responsesCursor(experiment: string) {
    return responses().find({ $or: [{ experiment }, { experiment: { $exists: false } }] }).sort({ receivedAt: 1, _id: 1 });
  },
};
