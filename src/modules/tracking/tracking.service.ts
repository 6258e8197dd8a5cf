// What the public tracking endpoints do: record opens (flagging privacy-proxy prefetches), queue click
// hits and classify them once their neighbours are known, record one-click survey answers and
// unsubscribe. Every event has a deterministic eventId, so retries and repeats count once.
import { createHash, randomUUID } from 'node:crypto';
import type { Duty } from '../../jobs/runner';
import { eventsService } from '../events';
import { SURVEY_METRICS, SURVEY_SCALES, type SurveyMetric } from '../experiments';
import { localeFromAcceptLanguage, resolveLocale, type Locale } from './locales.catalogue';
import { findMessage } from './message-lookup.registry';
import { suppressionService } from './suppression.service';
import type { TrackingPayload } from './tokens.service';
import { CLICK_SETTLE_MS, classifyClick, classifyOpen, scannerAgent, type ClickHit } from './traffic.classifier';
import type { ClickHitRecord } from './tracking.model';
import { trackingRepository } from './tracking.repository';

/** Processed hits are kept this long, so later hits of the same message can still be compared with them. */
const HIT_RETENTION_MS = 5 * 60_000;

/** A short stable id for one message of one customer in one experiment (eventIds are at most 200 chars). */
function messageDigest(token: TrackingPayload): string {
  return createHash('sha256').update(JSON.stringify([token.messageId, token.customerId, token.experiment])).digest('base64url').slice(0, 32);
}

export interface RequestFacts {
  userAgent?: string;
  ip?: string;
  acceptLanguage?: string;
}

function agentOf(userAgent: string | undefined): ClickHitRecord['agent'] {
  if (!userAgent?.trim()) return 'none';
  return scannerAgent(userAgent) ? 'scanner' : 'browser';
}

// In-process memory of hits already turned into events; after a restart the deterministic eventIds
// make re-processing harmless.
const processed = new Set<string>();
let processing: Promise<number> | undefined;

async function processDueClicks(now: number): Promise<number> {
  const hits = await trackingRepository.allHits();
  const byMessage = new Map<string, ClickHit[]>();
  for (const hit of hits) {
    const list = byMessage.get(hit.messageId) ?? [];
    list.push({ id: hit._id, messageId: hit.messageId, purpose: hit.purpose, at: hit.at, agent: hit.agent, ...(hit.target !== undefined ? { target: hit.target } : {}) });
    byMessage.set(hit.messageId, list);
  }
  const due = hits.filter((hit) => !processed.has(hit._id) && now - hit.at.getTime() >= CLICK_SETTLE_MS);
  const sentAt = new Map<string, Date | undefined>();
  for (const messageId of new Set(due.map((hit) => hit.messageId))) sentAt.set(messageId, (await findMessage(messageId))?.sentAt);
  const events = due.map((hit) => {
    const reason = classifyClick(byMessage.get(hit.messageId)!.find((h) => h.id === hit._id)!, byMessage.get(hit.messageId)!, sentAt.get(hit.messageId));
    return {
      eventId: `click:${hit._id}`,
      customerId: hit.customerId,
      name: reason ? 'email.click.scanner' : 'email.click',
      experiment: hit.experiment,
      timestamp: hit.at,
      properties: { messageId: hit.messageId, variant: hit.variant, ...(hit.target !== undefined ? { url: hit.target } : {}), ...(reason ? { reason } : {}) },
    };
  });
  if (events.length > 0) await eventsService.ingest(events);
  for (const hit of due) processed.add(hit._id);
  const expired = hits.filter((hit) => processed.has(hit._id) && now - hit.at.getTime() >= HIT_RETENTION_MS).map((hit) => hit._id);
  await trackingRepository.deleteHits(expired);
  for (const id of expired) processed.delete(id);
  return events.length;
}

export const trackingService = {
  /** Records an open; never throws (the pixel is served whatever happens). */
  async recordOpen(token: TrackingPayload, request: RequestFacts): Promise<void> {
    const at = new Date();
    const message = await findMessage(token.messageId);
    const verdict = classifyOpen({ at, ...(request.userAgent !== undefined ? { userAgent: request.userAgent } : {}), ...(request.ip !== undefined ? { ip: request.ip } : {}), ...(message?.sentAt ? { sentAt: message.sentAt } : {}) });
    const digest = messageDigest(token);
    const base = { customerId: token.customerId, experiment: token.experiment, timestamp: at };
    const properties = { messageId: token.messageId, variant: token.variant };
    // One open event per message (the metric counts customers, not loads); a person's open adds the human one.
    const events = verdict.human
      ? [
          { ...base, eventId: `open:${digest}`, name: 'email.open', properties: { ...properties, ...(verdict.proxy ? { proxy: verdict.proxy } : {}) } },
          { ...base, eventId: `open-human:${digest}`, name: 'email.open.human', properties: { ...properties, ...(verdict.proxy ? { proxy: verdict.proxy } : {}) } },
        ]
      : [{ ...base, eventId: `open:${digest}`, name: 'email.open', properties: { ...properties, flag: 'privacy_proxy', reason: verdict.reason } }];
    await eventsService.ingest(events);
  },

  /** Stores a click or honeypot hit durably; it becomes an event once classified. */
  async recordClickHit(token: TrackingPayload, request: RequestFacts): Promise<void> {
    await trackingRepository.insertHit({
      _id: randomUUID(),
      messageId: token.messageId,
      customerId: token.customerId,
      experiment: token.experiment,
      variant: token.variant,
      purpose: token.purpose === 'honeypot' ? 'honeypot' : 'click',
      ...(token.target !== undefined ? { target: token.target } : {}),
      agent: agentOf(request.userAgent),
      at: new Date(),
    });
  },

  /** Turns settled hits into email.click / email.click.scanner events; `now` may be moved ahead in tests. */
  async processClicks(now: number = Date.now()): Promise<number> {
    while (processing) await processing.catch(() => undefined);
    processing = processDueClicks(now);
    try {
      return await processing;
    } finally {
      processing = undefined;
    }
  },

  surveyMetric(token: TrackingPayload): SurveyMetric | null {
    return token.purpose === 'survey' && (SURVEY_METRICS as readonly string[]).includes(token.target ?? '') ? (token.target as SurveyMetric) : null;
  },

  /** The score as a whole number on the metric's scale, or null. */
  parseScore(metric: SurveyMetric, raw: unknown): number | null {
    if (typeof raw !== 'string' || !/^\d{1,2}$/.test(raw.trim())) return null;
    const score = Number(raw.trim());
    const scale = SURVEY_SCALES[metric];
    return score >= scale.min && score <= scale.max ? score : null;
  },

  /**
   * Records an answer. Each click is a new answer (fresh responseId); the counting layer keeps one per
   * customer, metric and experiment, the latest replacing the earlier.
   */
  async recordAnswer(token: TrackingPayload, metric: SurveyMetric, score: number, comment?: string): Promise<void> {
    await eventsService.respond({
      responseId: randomUUID(),
      customerId: token.customerId,
      metric,
      score,
      experiment: token.experiment,
      ...(comment ? { comment } : {}),
    });
  },

  /** Unsubscribes at once; repeats change nothing (insert-only list, deterministic event id). */
  async unsubscribe(token: TrackingPayload, source: 'one_click' | 'link'): Promise<void> {
    await suppressionService.unsubscribe({ customerId: token.customerId, source, experiment: token.experiment, messageId: token.messageId });
    const id = createHash('sha256').update(JSON.stringify([token.experiment, token.customerId])).digest('base64url').slice(0, 32);
    await eventsService.ingest([
      { eventId: `unsubscribe:${id}`, customerId: token.customerId, name: 'unsubscribe', experiment: token.experiment, properties: { messageId: token.messageId, variant: token.variant, source } },
    ]);
  },

  /** The recipient's language: the message's locale, else the browser's, else English. */
  async localeFor(token: TrackingPayload, request: RequestFacts): Promise<Locale> {
    const message = await findMessage(token.messageId);
    if (message?.locale) return resolveLocale(message.locale);
    return localeFromAcceptLanguage(request.acceptLanguage) ?? 'en';
  },
};

/**
 * The click classifier, a periodic duty of the job runner (one instance at a time): turns the hits that
 * have settled into events, including hits a restart left unclassified. `intervalMs`: SCHEDULER_INTERVAL_MS,
 * from the composition root.
 */
export function clickClassifierDuty(intervalMs: number): Duty {
  return {
    name: 'click-classifier',
    everyMs: intervalMs,
    run: async () => {
      await trackingService.processClicks();
    },
  };
}
