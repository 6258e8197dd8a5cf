// Turns a send request into message records and queue entries, in chunks of the audience read in _id
// order. Every write is an insert with a deterministic _id (message: campaign, phase, customer; entry:
// campaign, phase, chunk number), so a repeated or resumed enqueue adds nothing that exists already.
import { createHash } from 'node:crypto';
import { logger } from '../../lib/logger';
import { assignmentsService } from '../assignments';
import { experimentsService } from '../experiments';
import { suppressionService } from '../tracking';
import type { CampaignRecord, MessagePhase, MessageRecord, RecipientRecord } from './campaigns.model';
import { campaignsRepository } from './campaigns.repository';
import { wakeSendWorkers } from './send.worker';

const CHUNK = 100;

export function messageId(campaign: string, phase: MessagePhase, customerId: string): string {
  return `${campaign}:${phase}:${customerId}`;
}

function domainOf(from: string): string {
  const address = /<([^<>]+)>\s*$/.exec(from)?.[1] ?? from;
  return address.slice(address.lastIndexOf('@') + 1).toLowerCase() || 'verdict.local';
}

/** The Message-ID header: derived from the message _id, so it is the same on every attempt. */
export function messageIdHeader(campaign: CampaignRecord, id: string): string {
  return `<${createHash('sha256').update(`verdict:${id}`).digest('hex').slice(0, 32)}@${domainOf(campaign.from)}>`;
}

export function toMessage(campaign: CampaignRecord, phase: MessagePhase, recipient: RecipientRecord, variant: string, now: Date): MessageRecord {
  const id = messageId(campaign._id, phase, recipient.customerId);
  return {
    _id: id,
    campaign: campaign._id,
    phase,
    customerId: recipient.customerId,
    email: recipient.email,
    ...(recipient.name !== undefined ? { name: recipient.name } : {}),
    ...(recipient.locale !== undefined ? { locale: recipient.locale } : {}),
    ...(recipient.attributes !== undefined ? { attributes: recipient.attributes } : {}),
    variant,
    messageIdHeader: messageIdHeader(campaign, id),
    n: 1,
    createdAt: now,
  };
}

async function notSuppressed(recipients: RecipientRecord[]): Promise<RecipientRecord[]> {
  const flags = await Promise.all(recipients.map((r) => suppressionService.isSuppressed({ customerId: r.customerId, email: r.email })));
  return recipients.filter((_, i) => !flags[i]);
}

async function* chunks(cursor: AsyncIterable<RecipientRecord>): AsyncGenerator<RecipientRecord[]> {
  let chunk: RecipientRecord[] = [];
  for await (const recipient of cursor) {
    chunk.push(recipient);
    if (chunk.length >= CHUNK) {
      yield chunk;
      chunk = [];
    }
  }
  if (chunk.length > 0) yield chunk;
}

async function queueChunk(campaign: CampaignRecord, phase: MessagePhase, index: number, records: MessageRecord[]): Promise<void> {
  if (records.length === 0) return;
  // Messages first, then the entry naming them: an interruption in between is repaired by the resumed run.
  await campaignsRepository.insertMessages(records);
  await campaignsRepository.insertQueueEntries([
    {
      _id: `${campaign._id}:${phase}:${String(index).padStart(7, '0')}`,
      campaign: campaign._id,
      phase,
      kind: 'batch',
      messages: records.map((r) => r._id),
      attempt: 1,
      status: 'queued',
      nextAttemptAt: new Date(),
      createdAt: new Date(),
    },
  ]);
}

const running = new Map<string, Promise<void>>();

/** Runs one enqueue per campaign and phase at a time in this process; a second call joins the first. */
function once(key: string, work: () => Promise<void>): Promise<void> {
  let current = running.get(key);
  if (!current) {
    current = work().finally(() => running.delete(key));
    running.set(key, current);
  }
  return current;
}

export const enqueueService = {
  /** Assigns the test group through the experiment and queues each member's variant. */
  enqueueTest(campaign: CampaignRecord): Promise<void> {
    return once(`${campaign._id}:test`, async () => {
      const experiment = await experimentsService.getRecord(campaign.experiment);
      let index = 0;
      let queued = 0;
      let skipped = 0;
      for await (const chunk of chunks(campaignsRepository.recipientsCursor(campaign.audience!.upload, { test: true }) as AsyncIterable<RecipientRecord>)) {
        const eligible = await notSuppressed(chunk);
        const assignments = eligible.length > 0
          ? await assignmentsService.assignBatch(experiment._id, eligible.map((r) => ({ customerId: r.customerId, ...(r.attributes ? { attributes: r.attributes } : {}) })))
          : [];
        const now = new Date();
        const records: MessageRecord[] = [];
        eligible.forEach((recipient, i) => {
          const variant = assignments[i]?.variant;
          // Outside the experiment's coverage or targeting: not measured, so not sent in the test.
          if (variant) records.push(toMessage(campaign, 'test', recipient, variant, now));
        });
        skipped += chunk.length - records.length;
        queued += records.length;
        await queueChunk(campaign, 'test', index++, records);
        wakeSendWorkers();
      }
      await campaignsRepository.update(campaign._id, { 'test.enqueuedAt': { $exists: false } }, { 'test.enqueuedAt': new Date(), 'test.queued': queued, 'test.skipped': skipped });
      logger.info({ campaign: campaign._id, queued, skipped }, 'campaign test send queued');
    });
  },

  /**
   * Queues the winning variant for everyone who got no test message. These customers are not assigned
   * in the experiment: they are not part of the measured test group, and counting them would mix the
   * winner's reach into the comparison that chose it.
   */
  enqueueWinner(campaign: CampaignRecord): Promise<void> {
    return once(`${campaign._id}:winner`, async () => {
      const variant = campaign.winner!.variant;
      let index = 0;
      let queued = 0;
      let skipped = 0;
      for await (const chunk of chunks(campaignsRepository.recipientsCursor(campaign.audience!.upload) as AsyncIterable<RecipientRecord>)) {
        const testMembers = chunk.filter((r) => r.test).map((r) => messageId(campaign._id, 'test', r.customerId));
        const tested = testMembers.length > 0 ? await campaignsRepository.findMessages(testMembers) : new Map();
        const untested = chunk.filter((r) => !tested.has(messageId(campaign._id, 'test', r.customerId)));
        const eligible = await notSuppressed(untested);
        const now = new Date();
        const records = eligible.map((recipient) => toMessage(campaign, 'winner', recipient, variant, now));
        skipped += untested.length - records.length;
        queued += records.length;
        await queueChunk(campaign, 'winner', index++, records);
        wakeSendWorkers();
      }
      await campaignsRepository.update(campaign._id, { 'winner.enqueuedAt': { $exists: false } }, { 'winner.enqueuedAt': new Date(), 'winner.queued': queued, 'winner.skipped': skipped });
      logger.info({ campaign: campaign._id, variant, queued, skipped }, 'campaign winner send queued');
    });
  },
};
