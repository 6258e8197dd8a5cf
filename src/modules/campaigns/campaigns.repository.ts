// The only code touching the campaign collections. Hot paths go through the driver and query by _id.
import { collectionOf } from '../../db/connection';
import { findByIds } from '../../db/find-by-ids';
import { insertNew, sharedInsertOne } from '../../db/insert-new';
import {
  CampaignModel,
  DeliveryModel,
  MessageModel,
  QueueEntryModel,
  RecipientModel,
  type CampaignHistoryEntry,
  type CampaignRecord,
  type DeliveryRecord,
  type MessagePhase,
  type MessageRecord,
  type QueueEntryRecord,
  type RecipientRecord,
} from './campaigns.model';

const recipients = () => collectionOf<RecipientRecord>(RecipientModel);
const messages = () => collectionOf<MessageRecord>(MessageModel);
const deliveries = () => collectionOf<DeliveryRecord>(DeliveryModel);
const queue = () => collectionOf<QueueEntryRecord>(QueueEntryModel);

// Outcomes linger 2 ms for company: one insert then carries the outcomes of the concurrent lanes. A
// lane sends its next message only once its last outcome is recorded (send.worker.ts), so a kill -9
// leaves at most one sent message a lane unrecorded; the linger is time every lane waits, and 10 ms
// (fewer inserts) sent 2,000 messages at 36-46% of nodemailer's rate against 52% with 2 ms and 50% with 0.
const insertDeliveryShared = sharedInsertOne(deliveries, { lingerMs: 2 });

export const campaignsRepository = {
  async insert(record: CampaignRecord): Promise<void> {
    await CampaignModel.create(record);
  },

  async findByKey(key: string): Promise<CampaignRecord | null> {
    return CampaignModel.findById(key).lean<CampaignRecord>();
  },

  async list(filter: { experiment?: string }, limit: number, offset: number) {
    const query: Record<string, unknown> = {};
    if (filter.experiment) query.experiment = filter.experiment;
    const [items, total] = await Promise.all([
      CampaignModel.find(query).sort({ createdAt: -1, _id: 1 }).skip(offset).limit(limit).lean<CampaignRecord[]>(),
      CampaignModel.countDocuments(query),
    ]);
    return { items, total };
  },

  /**
   * Compare-and-set on the campaign (no transactions on the embedded database): applies the update only
   * while `expected` still matches, appending to the history. Returns null when the campaign moved on.
   */
  async update(
    key: string,
    expected: Record<string, unknown>,
    set: Record<string, unknown>,
    history?: CampaignHistoryEntry,
  ): Promise<CampaignRecord | null> {
    const update: Record<string, unknown> = { $set: { ...set, updatedAt: new Date() } };
    if (history) update.$push = { history };
    return CampaignModel.findOneAndUpdate({ _id: key, ...expected }, update, { new: true }).lean<CampaignRecord>();
  },

  /** Campaigns the scheduler may have work for: unfinished enqueues and automatic winner sends. */
  async needingAttention(): Promise<CampaignRecord[]> {
    return CampaignModel.find({
      $or: [
        { 'test.requestedAt': { $exists: true }, 'test.enqueuedAt': { $exists: false } },
        { 'winner.requestedAt': { $exists: true }, 'winner.enqueuedAt': { $exists: false } },
        { autoSendWinner: true, 'test.enqueuedAt': { $exists: true }, decision: { $exists: false } },
      ],
    }).lean<CampaignRecord[]>();
  },

  // Recipients (insert-only, staged per upload).
  async insertRecipients(records: RecipientRecord[]): Promise<Set<string>> {
    return insertNew(recipients(), records);
  },

  /** Rows that clash with an earlier row on the (upload, email) unique index come back as duplicates. */
  async deleteUpload(upload: string): Promise<void> {
    await recipients().deleteMany({ upload });
  },

  /** The upload's recipients in _id order, so a resumed enqueue forms exactly the same chunks. */
  recipientsCursor(upload: string, filter: { test?: boolean; holdout?: boolean } = {}) {
    return recipients().find({ upload, ...filter }).sort({ _id: 1 });
  },

  async countRecipients(upload: string, filter: { test?: boolean; holdout?: boolean } = {}): Promise<number> {
    return recipients().countDocuments({ upload, ...filter });
  },

  // Messages (insert-only).
  async insertMessages(records: MessageRecord[]): Promise<Set<string>> {
    return insertNew(messages(), records);
  },

  async findMessage(id: string): Promise<MessageRecord | null> {
    return messages().findOne({ _id: id });
  },

  /** By its Message-ID header (complaint reports): a scan on the embedded database, rare enough to afford. */
  async findMessageByHeader(header: string): Promise<MessageRecord | null> {
    return messages().findOne({ messageIdHeader: header });
  },

  async findMessages(ids: string[]): Promise<Map<string, MessageRecord>> {
    return findByIds(messages(), ids);
  },

  async countMessages(campaign: string, phase: MessagePhase): Promise<number> {
    return messages().countDocuments({ campaign, phase });
  },

  messagesCursor(campaign: string, phase: MessagePhase) {
    return messages().find({ campaign, phase });
  },

  async messageCounts(campaign: string): Promise<{ phase: MessagePhase; variant: string; n: number }[]> {
    const rows = await messages()
      .aggregate<{ _id: { phase: MessagePhase; variant: string }; n: number }>([
        { $match: { campaign } },
        { $group: { _id: { phase: '$phase', variant: '$variant' }, n: { $sum: '$n' } } },
      ])
      .toArray();
    return rows.map((row) => ({ ...row._id, n: row.n }));
  },

  // Deliveries (insert-only: one outcome per message).
  /** Records a message's outcome once; concurrent sends share one insert (group commit). */
  async insertDelivery(record: DeliveryRecord): Promise<boolean> {
    return insertDeliveryShared(record);
  },

  async findDelivery(id: string): Promise<DeliveryRecord | null> {
    return deliveries().findOne({ _id: id });
  },

  async findDeliveries(ids: string[]): Promise<Map<string, DeliveryRecord>> {
    return findByIds(deliveries(), ids);
  },

  async deliveryCounts(campaign: string): Promise<{ phase: MessagePhase; variant: string; status: string; n: number }[]> {
    const rows = await deliveries()
      .aggregate<{ _id: { phase: MessagePhase; variant: string; status: string }; n: number }>([
        { $match: { campaign } },
        { $group: { _id: { phase: '$phase', variant: '$variant', status: '$status' }, n: { $sum: '$n' } } },
      ])
      .toArray();
    return rows.map((row) => ({ ...row._id, n: row.n }));
  },

  async outboxPage(campaign: string, limit: number, offset: number) {
    const query = { campaign, file: { $exists: true } };
    const [items, total] = await Promise.all([
      deliveries().find(query).sort({ at: 1, _id: 1 }).skip(offset).limit(limit).toArray(),
      deliveries().countDocuments(query),
    ]);
    return { items, total };
  },

  // The send queue (small: one entry per chunk, deleted once done).
  async insertQueueEntries(records: QueueEntryRecord[]): Promise<Set<string>> {
    return insertNew(queue(), records);
  },

  async findQueueEntry(id: string): Promise<QueueEntryRecord | null> {
    return queue().findOne({ _id: id });
  },

  async findQueueEntries(ids: string[]): Promise<Map<string, QueueEntryRecord>> {
    return findByIds(queue(), ids);
  },

  /** Claims the next due entry for one worker. */
  async claimNext(worker: string, now: Date): Promise<QueueEntryRecord | null> {
    return queue().findOneAndUpdate(
      { status: 'queued', nextAttemptAt: { $lte: now } },
      { $set: { status: 'sending', claimedBy: worker, claimedAt: now } },
      { sort: { nextAttemptAt: 1, _id: 1 }, returnDocument: 'after' },
    );
  },

  /** Hands an entry back to the queue (graceful stop, or a retry with its next attempt time). */
  async requeue(id: string, worker: string, set: Partial<QueueEntryRecord> = {}): Promise<void> {
    await queue().updateOne({ _id: id, claimedBy: worker }, { $set: { ...set, status: 'queued' }, $unset: { claimedBy: '', claimedAt: '' } });
  },

  async deleteQueueEntry(id: string): Promise<void> {
    await queue().deleteOne({ _id: id });
  },

  /**
   * Entries left 'sending' by any other sender go back to the queue. Called by the sender that has just
   * taken the sending lease: every other sender has stopped (released the lease) or lost it.
   */
  async requeueClaimedByOthers(sender: string): Promise<number> {
    const result = await queue().updateMany(
      { status: 'sending', claimedBy: { $ne: sender } },
      { $set: { status: 'queued' }, $unset: { claimedBy: '', claimedAt: '' } },
    );
    return result.modifiedCount;
  },

  async queueCounts(campaign: string): Promise<{ test: number; winner: number }> {
    const [test, winner] = await Promise.all([queue().countDocuments({ campaign, phase: 'test' }), queue().countDocuments({ campaign, phase: 'winner' })]);
    return { test, winner };
  },
};
