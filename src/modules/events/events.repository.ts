import { collectionOf } from '../../db/connection';
import { insertNew } from '../../db/insert-new';
import { EventModel, PendingBatchModel, ResponseModel, type EventRecord, type PendingBatchRecord, type ResponseRecord } from './events.model';

const events = () => collectionOf<EventRecord>(EventModel);
const responses = () => collectionOf<ResponseRecord>(ResponseModel);
const pending = () => collectionOf<PendingBatchRecord>(PendingBatchModel);

export const eventsRepository = {
  /** Stores raw events; returns the eventIds that were stored before (retries). */
  async insertEvents(records: EventRecord[]): Promise<Set<string>> {
    return insertNew(events(), records);
  },

  async insertResponse(record: ResponseRecord): Promise<boolean> {
    return (await insertNew(responses(), [record])).size === 0;
  },

  async findResponse(id: string): Promise<ResponseRecord | null> {
    return ResponseModel.findById(id).lean<ResponseRecord>();
  },

  /** Events that may count for an experiment: those naming it and those naming none. */
  eventsCursor(experiment: string) {
    return events().find({ $or: [{ experiment }, { experiment: { $exists: false } }] });
  },

  responsesCursor(experiment: string) {
    return responses().find({ $or: [{ experiment }, { experiment: { $exists: false } }] }).sort({ receivedAt: 1, _id: 1 });
  },

  async beginBatch(record: PendingBatchRecord): Promise<void> {
    await pending().insertOne(record);
  },

  async endBatch(id: string): Promise<void> {
    await pending().deleteOne({ _id: id });
  },

  async pendingBatches(): Promise<PendingBatchRecord[]> {
    return PendingBatchModel.find().lean<PendingBatchRecord[]>();
  },
};
