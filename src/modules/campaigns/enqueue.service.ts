// Turns a send request into message records and queue entries, in chunks of the audience read in _id
// order. Every write is an insert with a deterministic _id (message: campaign, phase, customer; entry:
// campaign, phase, chunk number), so a repeated or resumed enqueue adds nothing that exists already.
import { createHash } from 'node:crypto';
import { logger } from '../../lib/logger';
import { assignmentsService } from '../assignments';
import { experimentsService, HOLDOUT_VARIANT, type ExperimentRecord } from '../experiments';
import { suppressionService } from '../tracking';
import type { CampaignRecord, MessagePhase, MessageRecord, RecipientRecord } from './campaigns.model';
import { campaignsRepository } from './campaigns.repository';
import { sendTimeOf, variantRules } from './sending-rules';
import { wakeSendWorkers } from './send.worker';

// Messages a queue entry holds. The sender reads, renders and finishes an entry as one chunk (about ten
// database commands an entry besides the outcome records): 400 a chunk sent 69-83% of nodemailer's
// rate where 100 sent 59-63% (BENCHMARKS.md). Only the holder of the sending lease sends, so the size
// does not spread work between instances; a resumed entry skips what was recorded.
const CHUNK = 400;

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

/** When a send that started at `startedAt` may deliver `variant` (undefined: at once), from its sending rules. */
export function notBeforeOf(experiment: ExperimentRecord, variant: string, startedAt: Date): Date | undefined {
  const at = sendTimeOf(variantRules(experiment, variant), startedAt);
  return at.getTime() > startedAt.getTime() ? at : undefined;
}

export function toMessage(campaign: CampaignRecord, phase: MessagePhase, recipient: RecipientRecord, variant: string, now: Date, notBefore?: Date): MessageRecord {
  const id = messageId(campaign._id, phase, recipient.customerId);
  return {
    _id: id,
    campaign: campaign._id,
    phase,
    customerId: recipient.customerId,
    ...(recipient.email !== undefined ? { email: recipient.email } : {}),
    ...(recipient.phone !== undefined ? { phone: recipient.phone } : {}),
    ...(recipient.name !== undefined ? { name: recipient.name } : {}),
    ...(recipient.locale !== undefined ? { locale: recipient.locale } : {}),
    ...(recipient.attributes !== undefined ? { attributes: recipient.attributes } : {}),
    variant,
    messageIdHeader: messageIdHeader(campaign, id),
    ...(notBefore ? { notBefore } : {}),
    n: 1,
    createdAt: now,
  };
}

async function notSuppressed(recipients: RecipientRecord[]): Promise<RecipientRecord[]> {
  const flags = await Promise.all(recipients.map((r) => suppressionService.isSuppressed({ customerId: r.customerId, email: r.email, phone: r.phone })));
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
  // Messages first, then the entries naming them: an interruption in between is repaired by the resumed run.
  await campaignsRepository.insertMessages(records);
  // Messages due at once share the chunk's entry; a variant with a later send time gets an entry of its
  // own, due then (the sender claims only due entries, so a restart cannot send it early either).
  const base = `${campaign._id}:${phase}:${String(index).padStart(7, '0')}`;
  const groups = new Map<string, { due: Date; messages: string[] }>();
  for (const record of records) {
    const id = record.notBefore ? `${base}:${record.variant}` : base;
    let group = groups.get(id);
    if (!group) groups.set(id, (group = { due: record.notBefore ?? new Date(), messages: [] }));
    group.messages.push(record._id);
  }
  await campaignsRepository.insertQueueEntries(
    [...groups].map(([id, group]) => ({
      _id: id,
      campaign: campaign._id,
      phase,
      kind: 'batch' as const,
      messages: group.messages,
      attempt: 1,
      status: 'queued' as const,
      nextAttemptAt: group.due,
      createdAt: new Date(),
    })),
  );
}

/** Assigns the campaign's holdout to the experiment's no-send arm; answers how many are in it. */
async function assignHoldout(campaign: CampaignRecord, experiment: ExperimentRecord): Promise<number> {
  if (!campaign.holdoutFraction) return 0;
  let heldOut = 0;
  for await (const chunk of chunks(campaignsRepository.recipientsCursor(campaign.audience!.upload, { holdout: true }) as AsyncIterable<RecipientRecord>)) {
    const variants = await assignmentsService.assignHoldout(experiment._id, chunk.map((r) => ({ customerId: r.customerId, ...(r.attributes ? { attributes: r.attributes } : {}) })));
    heldOut += variants.filter((v) => v === HOLDOUT_VARIANT).length;
  }
  return heldOut;
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
  /**
   * Assigns the holdout (sent nothing) and the test group through the experiment, and queues each test
   * member's variant, due at the variant's send time.
   */
  enqueueTest(campaign: CampaignRecord): Promise<void> {
    return once(`${campaign._id}:test`, async () => {
      const experiment = await experimentsService.getRecord(campaign.experiment);
      const heldOut = await assignHoldout(campaign, experiment);
      const startedAt = campaign.test!.requestedAt;
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
          // Outside the experiment's coverage or targeting: not measured, so not sent in the test. In the
          // holdout (of another campaign over the experiment, assigned before): sent nothing either.
          if (variant && variant !== HOLDOUT_VARIANT) records.push(toMessage(campaign, 'test', recipient, variant, now, notBeforeOf(experiment, variant, startedAt)));
        });
        skipped += chunk.length - records.length;
        queued += records.length;
        await queueChunk(campaign, 'test', index++, records);
        wakeSendWorkers();
      }
      const held = campaign.holdoutFraction ? { 'test.heldOut': heldOut } : {};
      await campaignsRepository.update(campaign._id, { 'test.enqueuedAt': { $exists: false } }, { 'test.enqueuedAt': new Date(), 'test.queued': queued, 'test.skipped': skipped, ...held });
      logger.info({ campaign: campaign._id, queued, skipped, heldOut }, 'campaign test send queued');
    });
  },

  /**
   * Queues the winning variant for everyone who got no test message, except the holdout. These customers
   * are not assigned in the experiment: they are not part of the measured test group, and counting them
   * would mix the winner's reach into the comparison that chose it. The winner keeps its sending rules:
   * its from-name, and its send time counted from the winner send's start.
   */
  enqueueWinner(campaign: CampaignRecord): Promise<void> {
    return once(`${campaign._id}:winner`, async () => {
      const variant = campaign.winner!.variant;
      const experiment = await experimentsService.getRecord(campaign.experiment);
      const notBefore = notBeforeOf(experiment, variant, campaign.winner!.requestedAt);
      let index = 0;
      let queued = 0;
      let skipped = 0;
      for await (const chunk of chunks(campaignsRepository.recipientsCursor(campaign.audience!.upload) as AsyncIterable<RecipientRecord>)) {
        const testMembers = chunk.filter((r) => r.test).map((r) => messageId(campaign._id, 'test', r.customerId));
        const tested = testMembers.length > 0 ? await campaignsRepository.findMessages(testMembers) : new Map();
        // The holdout gets nothing, this campaign's and any other's over the experiment (stored as such).
        const candidates = chunk.filter((r) => !r.holdout && !tested.has(messageId(campaign._id, 'test', r.customerId)));
        const heldOut = candidates.length > 0 ? await assignmentsService.heldOut(experiment._id, candidates.map((r) => r.customerId)) : new Set<string>();
        const untested = candidates.filter((r) => !heldOut.has(r.customerId));
        const eligible = await notSuppressed(untested);
        const now = new Date();
        const records = eligible.map((recipient) => toMessage(campaign, 'winner', recipient, variant, now, notBefore));
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
