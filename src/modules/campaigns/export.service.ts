// Recipients for teams that send through their own platform: each recipient's variant, rendered subject
// and signed links. Exporting (POST, editors) writes: the test group is assigned and message records are
// created so the links resolve. Reading an export (GET, viewers) only reads what exporting created.
import { ConflictError, NotFoundError } from '../../lib/errors';
import { assignmentsService } from '../assignments';
import { experimentsService, HOLDOUT_VARIANT, type ExperimentRecord } from '../experiments';
import { renderCampaignMessage } from '../tracking';
import type { CampaignRecord, MessageRecord, RecipientRecord } from './campaigns.model';
import { campaignsRepository } from './campaigns.repository';
import { messageId, toMessage } from './enqueue.service';
import { renderCampaignOf, renderItemOf } from './render-input';

export type RecipientGroup = 'test' | 'winner' | 'all';

export interface ExportedRecipient {
  customerId: string;
  email: string;
  group: 'test' | 'winner';
  variant: string;
  subject: string;
  messageId: string;
  openPixelUrl: string;
  clicks: { url: string; tracked: string }[];
  survey: { metric: string; score: number; url: string }[];
  unsubscribeUrl: string;
  listUnsubscribe: string | undefined;
}

const CHUNK = 500;

async function mustFind(key: string): Promise<CampaignRecord> {
  const record = await campaignsRepository.findByKey(key);
  if (!record) throw new NotFoundError(`campaign "${key}"`);
  return record;
}

/** Exports give email links and subjects; an SMS campaign is sent by Verdict itself (its links are short and stored). */
function refuseSms(campaign: CampaignRecord): void {
  if (campaign.channel === 'sms') throw new ConflictError(`campaign "${campaign._id}" is an SMS campaign: recipients are exported for email campaigns only; send it with POST /v1/campaigns/${campaign._id}/send-test`);
}

function groupFilter(group: RecipientGroup): { test?: boolean } {
  return group === 'test' ? { test: true } : group === 'winner' ? { test: false } : {};
}

function toRow(campaign: CampaignRecord, experiment: ExperimentRecord, recipient: RecipientRecord, message: MessageRecord): ExportedRecipient {
  const rendered = renderCampaignMessage({ campaign: renderCampaignOf(campaign), experiment, ...renderItemOf(message, recipient) });
  return {
    customerId: recipient.customerId,
    email: recipient.email ?? '',
    group: recipient.test ? 'test' : 'winner',
    variant: message.variant,
    subject: rendered.subject,
    messageId: message._id,
    openPixelUrl: rendered.links.open,
    clicks: rendered.links.clicks,
    survey: rendered.links.survey,
    unsubscribeUrl: rendered.links.unsubscribe,
    listUnsubscribe: rendered.headers['List-Unsubscribe'],
  };
}

async function* chunksOf(campaign: CampaignRecord, group: RecipientGroup): AsyncGenerator<RecipientRecord[]> {
  let chunk: RecipientRecord[] = [];
  for await (const recipient of campaignsRepository.recipientsCursor(campaign.audience!.upload, groupFilter(group)) as AsyncIterable<RecipientRecord>) {
    chunk.push(recipient);
    if (chunk.length >= CHUNK) {
      yield chunk;
      chunk = [];
    }
  }
  if (chunk.length > 0) yield chunk;
}

async function exportChunk(campaign: CampaignRecord, experiment: ExperimentRecord, chunk: RecipientRecord[], group: RecipientGroup): Promise<ExportedRecipient[]> {
  const testers = chunk.filter((r) => r.test);
  const assigned = testers.length > 0 && group !== 'winner'
    ? await assignmentsService.assignBatch(experiment._id, testers.map((r) => ({ customerId: r.customerId, ...(r.attributes ? { attributes: r.attributes } : {}) })))
    : [];
  const variants = new Map(testers.map((r, i) => [r.customerId, assigned[i]?.variant ?? null]));
  // The holdout is assigned to the no-send arm as send-test would, and exported to nobody.
  const holdout = chunk.filter((r) => r.holdout);
  if (holdout.length > 0 && group !== 'winner') await assignmentsService.assignHoldout(experiment._id, holdout.map((r) => ({ customerId: r.customerId, ...(r.attributes ? { attributes: r.attributes } : {}) })));
  const now = new Date();
  const records: MessageRecord[] = [];
  const rows: ExportedRecipient[] = [];
  for (const recipient of chunk) {
    if (recipient.holdout) continue;
    const variant = recipient.test ? variants.get(recipient.customerId) : campaign.winner?.variant;
    if (!variant || variant === HOLDOUT_VARIANT) continue;
    const message = toMessage(campaign, 'export', recipient, variant, now);
    records.push(message);
    rows.push(toRow(campaign, experiment, recipient, message));
  }
  await campaignsRepository.insertMessages(records);
  return rows;
}

export const exportService = {
  /**
   * Writes: the test group is assigned through the experiment exactly as send-test would (so their
   * engagement is measured), without sending; the rest get the winner's content once a winner is decided.
   * Message records are created in the 'export' phase so the tracking links resolve; no queue entries are
   * made, so nothing is sent. Exporting again gives the same rows and creates nothing new.
   */
  async *exportRecipients(key: string, group: RecipientGroup): AsyncGenerator<ExportedRecipient> {
    const campaign = await mustFind(key);
    refuseSms(campaign);
    if (!campaign.audience) throw new ConflictError(`campaign "${key}" has no audience yet`);
    const experiment = await experimentsService.getRecord(campaign.experiment);
    if ((group === 'test' || group === 'all') && experiment.status !== 'running') {
      throw new ConflictError(`experiment "${experiment._id}" is ${experiment.status}: the test group can only be assigned while it runs`);
    }
    if (group === 'winner' && !campaign.winner) throw new ConflictError(`campaign "${key}" has no winner yet`);
    for await (const chunk of chunksOf(campaign, group)) yield* await exportChunk(campaign, experiment, chunk, group);
  },

  /** How many recipients have been exported so far (message records of the 'export' phase); reads only. */
  async countExported(key: string): Promise<number> {
    await mustFind(key);
    return campaignsRepository.countMessages(key, 'export');
  },

  /**
   * Reads only: the recipients of the current audience that an export already created a message for,
   * with the same rows the export gave (links are signed from stored facts, so they are identical).
   * Nothing is assigned or created; recipients never exported are left out.
   */
  async *readExportedRecipients(key: string, group: RecipientGroup): AsyncGenerator<ExportedRecipient> {
    const campaign = await mustFind(key);
    refuseSms(campaign);
    if (!campaign.audience) return;
    const experiment = await experimentsService.getRecord(campaign.experiment);
    for await (const chunk of chunksOf(campaign, group)) {
      const messages = await campaignsRepository.findMessages(chunk.map((r) => messageId(campaign._id, 'export', r.customerId)));
      for (const recipient of chunk) {
        const message = messages.get(messageId(campaign._id, 'export', recipient.customerId));
        if (message) yield toRow(campaign, experiment, recipient, message);
      }
    }
  },
};
