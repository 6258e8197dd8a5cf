import type { Readable } from 'node:stream';
import { BadRequestError, ConflictError, NotFoundError } from '../../lib/errors';
import { logger } from '../../lib/logger';
import { aggregatesRepository, ASSIGNED } from '../aggregates';
import { experimentsService, HOLDOUT_VARIANT, SURVEY_METRICS } from '../experiments';
import { surveyMetricOf, type MessageLookup } from '../tracking';
import { audienceService, type UploadResult } from './audience.service';
import type { CampaignHistoryEntry, CampaignRecord } from './campaigns.model';
import { campaignsRepository } from './campaigns.repository';
import { parseDuration, type CAMPAIGN_PHASES, type CreateCampaignInput } from './campaigns.schemas';
import { decisionService } from './decision.service';
import { enqueueService } from './enqueue.service';
import { sendTimeOf, variantRules } from './sending-rules';
import { addSmsCounts } from './sms.view';
import { campaignMailbox, smsSender } from './campaigns.schemas';

export type CampaignPhase = (typeof CAMPAIGN_PHASES)[number];

const COUNT_FIELDS = ['queued', 'sent', 'failed', 'bounced', 'suppressed', 'opened', 'clicked', 'answered', 'unsubscribed'] as const;
type Counts = Record<(typeof COUNT_FIELDS)[number], number>;

function entry(action: string, actor: string, details?: Record<string, unknown>): CampaignHistoryEntry {
  return { at: new Date(), action, actor, ...(details ? { details } : {}) };
}

async function mustFind(key: string): Promise<CampaignRecord> {
  const record = await campaignsRepository.findByKey(key);
  if (!record) throw new NotFoundError(`campaign "${key}"`);
  return record;
}

/**
 * How tracking finds a message's facts (delivery time for scanner detection, locale for its pages): the
 * composition root registers it with tracking (registerMessageLookup, src/wiring.ts).
 */
export const campaignMessageLookup: MessageLookup = async (id) => {
  const message = await campaignsRepository.findMessage(id);
  if (!message) return null;
  const delivery = await campaignsRepository.findDelivery(id);
  return {
    campaign: message.campaign,
    customerId: message.customerId,
    ...(delivery?.status === 'sent' ? { sentAt: delivery.at } : {}),
    ...(message.locale !== undefined ? { locale: message.locale } : {}),
  };
};

export interface SentMessage {
  /** The message record's _id (what tracking tokens carry as messageId). */
  messageId: string;
  campaign: string;
  experiment: string;
  customerId: string;
  email?: string;
  variant: string;
}

/** A message Verdict made, by its _id or by its Message-ID header; null when it made none such. Reads only. */
export async function findSentMessage(by: { id: string } | { header: string }): Promise<SentMessage | null> {
  const message = 'id' in by ? await campaignsRepository.findMessage(by.id) : await campaignsRepository.findMessageByHeader(by.header);
  if (!message) return null;
  const campaign = await campaignsRepository.findByKey(message.campaign);
  if (!campaign) return null;
  return { messageId: message._id, campaign: campaign._id, experiment: campaign.experiment, customerId: message.customerId, ...(message.email !== undefined ? { email: message.email } : {}), variant: message.variant };
}

function emptyCounts(): Counts {
  return Object.fromEntries(COUNT_FIELDS.map((f) => [f, 0])) as Counts;
}

async function describe(record: CampaignRecord) {
  const experiment = await experimentsService.getRecord(record.experiment).catch(() => null);
  const [messageCounts, deliveryCounts, queue, aggregates] = await Promise.all([
    campaignsRepository.messageCounts(record._id),
    campaignsRepository.deliveryCounts(record._id),
    campaignsRepository.queueCounts(record._id),
    experiment ? aggregatesRepository.forExperiment(record.holdoutFraction ? { ...experiment, variants: [...experiment.variants, { key: HOLDOUT_VARIANT }] } : experiment) : Promise.resolve([]),
  ]);
  const variantKeys = experiment ? experiment.variants.map((v) => v.key) : [...new Set(messageCounts.map((m) => m.variant))];
  const survey = experiment ? surveyMetricOf(experiment) : undefined;
  const units = (variant: string, metric: string) => aggregates.find((a) => a.variant === variant && a.metric === metric)?.units ?? 0;
  const variants = variantKeys.map((variant) => {
    const counts = emptyCounts();
    let testGroup = 0;
    let winnerGroup = 0;
    for (const m of messageCounts) {
      if (m.variant !== variant || m.phase === 'export') continue;
      if (m.phase === 'test') testGroup += m.n;
      else winnerGroup += m.n;
      counts.queued += m.n;
    }
    for (const d of deliveryCounts) {
      if (d.variant !== variant || d.phase === 'export') continue;
      counts.queued -= d.n;
      if (d.status in counts) counts[d.status as keyof Counts] += d.n;
    }
    // Engagement is measured on the experiment's assigned customers: the test group.
    counts.opened = units(variant, 'email_open');
    counts.clicked = units(variant, 'email_click');
    counts.answered = survey ? units(variant, survey.key) : SURVEY_METRICS.reduce((max, m) => Math.max(max, units(variant, m)), 0);
    counts.unsubscribed = units(variant, 'unsubscribe');
    return { variant, assigned: units(variant, ASSIGNED), testGroup, winnerGroup, ...counts };
  });
  // SMS: receipts, short-link clicks and segments per variant (before the totals, which add them up).
  const smsTotal = record.channel === 'sms' ? await addSmsCounts(record, experiment, variants, units) : undefined;
  const total = { audience: record.audience?.accepted ?? 0, testGroup: record.audience?.testGroup ?? 0, ...emptyCounts(), ...smsTotal };
  for (const v of variants) for (const f of COUNT_FIELDS) total[f] += v[f];
  // The holdout is sent nothing: what its customers did anyway is the baseline the results compare with.
  const holdout = record.holdoutFraction
    ? {
        recipients: record.audience?.holdout ?? 0,
        assigned: units(HOLDOUT_VARIANT, ASSIGNED),
        opened: units(HOLDOUT_VARIANT, 'email_open'),
        clicked: units(HOLDOUT_VARIANT, 'email_click'),
        answered: survey ? units(HOLDOUT_VARIANT, survey.key) : SURVEY_METRICS.reduce((max, m) => Math.max(max, units(HOLDOUT_VARIANT, m)), 0),
        unsubscribed: units(HOLDOUT_VARIANT, 'unsubscribe'),
      }
    : undefined;

  let phase: CampaignPhase;
  if (!record.audience) phase = 'draft';
  else if (!record.test) phase = 'audience_ready';
  else if (!record.test.enqueuedAt || queue.test > 0) phase = 'testing';
  else if (!record.decision) phase = 'waiting_for_winner';
  else if (!record.winner) phase = 'held';
  else if (!record.winner.enqueuedAt || queue.winner > 0) phase = 'sending_winner';
  else phase = 'completed';

  const { _id, history, winnerPolicy, holdoutFraction, ...rest } = record;
  return {
    key: _id,
    ...rest,
    channel: record.channel ?? ('email' as const),
    holdoutFraction: holdoutFraction ?? 0,
    winnerPolicy: { after: winnerPolicy.after, ...(winnerPolicy.metric ? { metric: winnerPolicy.metric } : {}), onInconclusive: winnerPolicy.onInconclusive },
    phase,
    counts: { total, variants, ...(holdout ? { holdout } : {}) },
    history,
  };
}

export const campaignsService = {
  async create(input: CreateCampaignInput, actor: string) {
    const experiment = await experimentsService.getRecord(input.experiment);
    if (experiment.assetType === 'page') throw new BadRequestError(`experiment: "${input.experiment}" is a ${experiment.assetType} experiment; campaigns send email and SMS experiments`);
    const sms = experiment.assetType === 'sms';
    // The schema took either kind of sender; the experiment says which one it must be.
    const from = (sms ? smsSender : campaignMailbox).safeParse(input.from);
    if (!from.success) throw new BadRequestError(`from: ${from.error.issues[0].message} (experiment "${experiment._id}" is ${sms ? 'an SMS' : 'an email'} experiment)`);
    if (sms && input.replyTo) throw new BadRequestError('replyTo: an SMS has no reply-to address');
    if (input.winnerPolicy.metric !== undefined) {
      const declared = [experiment.metrics.primary, ...experiment.metrics.secondary, ...experiment.metrics.guardrails, ...experiment.metrics.custom.map((m) => m.key)];
      if (!declared.includes(input.winnerPolicy.metric)) throw new BadRequestError(`winnerPolicy.metric: "${input.winnerPolicy.metric}" is not a metric of experiment "${experiment._id}" (${declared.join(', ')})`);
    }
    const now = new Date();
    const record: CampaignRecord = {
      _id: input.key,
      experiment: input.experiment,
      ...(sms ? { channel: 'sms' as const } : {}),
      from: input.from,
      ...(input.replyTo ? { replyTo: input.replyTo } : {}),
      testFraction: input.testFraction,
      ...(input.holdoutFraction ? { holdoutFraction: input.holdoutFraction } : {}),
      winnerPolicy: { ...input.winnerPolicy, afterMs: parseDuration(input.winnerPolicy.after)! },
      autoSendWinner: input.autoSendWinner,
      history: [entry('created', actor)],
      createdAt: now,
      updatedAt: now,
    };
    try {
      await campaignsRepository.insert(record);
    } catch (error) {
      if ((error as { code?: number }).code === 11000) throw new ConflictError(`a campaign with key "${input.key}" already exists`);
      throw error;
    }
    return describe(record);
  },

  async list(query: { experiment?: string; limit: number; offset: number }) {
    const { items, total } = await campaignsRepository.list(query, query.limit, query.offset);
    return { campaigns: await Promise.all(items.map(describe)), total, limit: query.limit, offset: query.offset };
  },

  async get(key: string) {
    return describe(await mustFind(key));
  },

  async uploadAudience(key: string, contentType: string, body: Readable, actor: string): Promise<UploadResult> {
    const campaign = await mustFind(key);
    if (campaign.test) throw new ConflictError(`campaign "${key}" has sent its test: its audience can no longer change`);
    const staged = await audienceService.upload(campaign, contentType, body);
    const { upload, ...result } = staged;
    const audience = { upload, accepted: result.accepted, merged: result.merged, suppressed: result.suppressed, testGroup: result.testGroup, ...(result.holdout !== undefined ? { holdout: result.holdout } : {}), uploadedAt: new Date() };
    const updated = await campaignsRepository.update(key, { test: { $exists: false } }, { audience }, entry('audience_uploaded', actor, { accepted: result.accepted, merged: result.merged, suppressed: result.suppressed }));
    if (!updated) {
      await campaignsRepository.deleteUpload(upload);
      throw new ConflictError(`campaign "${key}" started its test while the audience was uploading; the upload was discarded`);
    }
    // The previous audience is no longer reachable; removing it is housekeeping, not part of the answer.
    if (campaign.audience) {
      campaignsRepository.deleteUpload(campaign.audience.upload).catch((error: unknown) => logger.warn({ err: error, campaign: key }, 'could not remove a replaced audience'));
    }
    return result;
  },

  async sendTest(key: string, actor: string) {
    let campaign = await mustFind(key);
    if (!campaign.audience) throw new ConflictError(`campaign "${key}" has no audience: POST /v1/campaigns/${key}/audience first`);
    if (!campaign.test) {
      const experiment = await experimentsService.getRecord(campaign.experiment);
      if (experiment.status !== 'running') {
        throw new ConflictError(`experiment "${experiment._id}" is ${experiment.status}: start it (POST /v1/experiments/${experiment._id}/start) before sending the test, so the test group can be assigned`);
      }
      const now = new Date();
      // The wait before the decision starts once the last variant has gone out (sendAt, sendDelay), so a
      // later-sent variant has as long as the others to be opened and answered.
      const lastSend = Math.max(...experiment.variants.map((v) => sendTimeOf(variantRules(experiment, v.key), now).getTime()));
      const updated = await campaignsRepository.update(
        key,
        { test: { $exists: false } },
        { test: { requestedAt: now, winnerDueAt: new Date(lastSend + campaign.winnerPolicy.afterMs) } },
        entry('test_requested', actor),
      );
      campaign = updated ?? (await mustFind(key));
    }
    if (!campaign.test!.enqueuedAt) await enqueueService.enqueueTest(campaign);
    return describe(await mustFind(key));
  },

  /** Records the decision (unless one was taken) and queues the winner; repeated calls change nothing. */
  async sendWinner(key: string, variant: string | undefined, actor: string, by: 'manual' | 'auto' = 'manual') {
    let campaign = await mustFind(key);
    if (!campaign.test?.enqueuedAt) throw new ConflictError(`campaign "${key}" has not sent its test yet: POST /v1/campaigns/${key}/send-test first`);
    if (!campaign.winner) {
      const experiment = await experimentsService.getRecord(campaign.experiment);
      if (variant !== undefined && !experiment.variants.some((v) => v.key === variant)) {
        throw new BadRequestError(`variant: "${variant}" is not a variant of experiment "${experiment._id}" (${experiment.variants.map((v) => v.key).join(', ')})`);
      }
      const decision = await decisionService.decide(campaign, experiment, by, actor, variant);
      if (!decision.variant) {
        await campaignsRepository.update(key, { winner: { $exists: false } }, { decision }, entry('winner_held', actor, { reasons: decision.reasons }));
        throw new ConflictError(`no winner for campaign "${key}": the policy is to hold when the test is inconclusive; name a variant to send`, { decision });
      }
      const updated = await campaignsRepository.update(
        key,
        { winner: { $exists: false } },
        { decision, winner: { requestedAt: new Date(), variant: decision.variant } },
        entry('winner_requested', actor, { variant: decision.variant, rule: decision.rule }),
      );
      campaign = updated ?? (await mustFind(key));
    } else if (variant !== undefined && variant !== campaign.winner.variant) {
      throw new ConflictError(`campaign "${key}" is already sending variant "${campaign.winner.variant}" to the rest of the audience`);
    }
    if (!campaign.winner!.enqueuedAt) await enqueueService.enqueueWinner(campaign);
    return describe(await mustFind(key));
  },

  /** The scheduler's pass: resume interrupted enqueues and send winners that are due. */
  async runDueWork(now = new Date()): Promise<void> {
    for (const campaign of await campaignsRepository.needingAttention()) {
      try {
        if (campaign.test && !campaign.test.enqueuedAt) await enqueueService.enqueueTest(campaign);
        else if (campaign.winner && !campaign.winner.enqueuedAt) await enqueueService.enqueueWinner(campaign);
        else if (campaign.autoSendWinner && campaign.test?.enqueuedAt && !campaign.decision && campaign.test.winnerDueAt.getTime() <= now.getTime()) {
          await this.sendWinner(campaign._id, undefined, 'scheduler', 'auto').catch((error: unknown) => {
            if (!(error instanceof ConflictError)) throw error;
          });
        }
      } catch (error) {
        logger.error({ err: error, campaign: campaign._id }, 'campaign scheduler step failed; will retry');
      }
    }
  },

  async outbox(key: string, limit: number, offset: number) {
    await mustFind(key);
    const { items, total } = await campaignsRepository.outboxPage(key, limit, offset);
    const messages = await campaignsRepository.findMessages(items.map((d) => d._id));
    return {
      messages: items.map((d) => ({ to: messages.get(d._id)?.email ?? messages.get(d._id)?.phone ?? null, subject: d.subject ?? null, variant: d.variant, phase: d.phase, file: d.file, sentAt: d.at })),
      total,
      limit,
      offset,
    };
  },
};
