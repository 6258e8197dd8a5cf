// What the public tracking endpoints do: record opens (flagging privacy-proxy prefetches), queue click
// and one-click survey hits and classify them once their neighbours are known (a scanner's score is never
// an answer), record survey comments and unsubscribe. Every event and every answer made from a hit has a
// deterministic id, so retries and repeats count once.
import { createHash, randomUUID } from 'node:crypto';
import type { Duty } from '../../jobs/runner';
import { logger } from '../../lib/logger';
import { eventsRepository, eventsService } from '../events';
import { builtInSurveyMetric, experimentsService, findSurveyMetric, isBuiltInSurveyMetric, type SurveyMetricInfo } from '../experiments';
import { localeFromAcceptLanguage, resolveLocale, words, type Locale } from './locales.catalogue';
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
    // Each score of a survey is a link of its own (a scanner walking the message follows all eleven NPS links).
    const target = hit.purpose === 'survey' ? `survey:${hit.target ?? ''}:${hit.score ?? ''}` : hit.target;
    list.push({ id: hit._id, messageId: hit.messageId, purpose: hit.purpose, at: hit.at, agent: hit.agent, ...(target !== undefined ? { target } : {}) });
    byMessage.set(hit.messageId, list);
  }
  const due = hits.filter((hit) => !processed.has(hit._id) && now - hit.at.getTime() >= CLICK_SETTLE_MS);
  const sentAt = new Map<string, Date | undefined>();
  for (const messageId of new Set(due.map((hit) => hit.messageId))) sentAt.set(messageId, (await findMessage(messageId))?.sentAt);
  const reasonOf = (hit: ClickHitRecord) => classifyClick(byMessage.get(hit.messageId)!.find((h) => h.id === hit._id)!, byMessage.get(hit.messageId)!, sentAt.get(hit.messageId));
  const events = [];
  for (const hit of due) {
    const reason = reasonOf(hit);
    if (hit.purpose === 'survey') {
      const answer = await surveyHitOutcome(hit, reason);
      if (answer) events.push(answer);
      continue;
    }
    events.push({
      eventId: `click:${hit._id}`,
      customerId: hit.customerId,
      name: reason ? 'email.click.scanner' : 'email.click',
      experiment: hit.experiment,
      timestamp: hit.at,
      properties: { messageId: hit.messageId, variant: hit.variant, ...(hit.target !== undefined ? { url: hit.target } : {}), ...(reason ? { reason } : {}) },
    });
  }
  if (events.length > 0) await eventsService.ingest(events);
  for (const hit of due) processed.add(hit._id);
  const expired = hits.filter((hit) => processed.has(hit._id) && now - hit.at.getTime() >= HIT_RETENTION_MS).map((hit) => hit._id);
  await trackingRepository.deleteHits(expired);
  for (const id of expired) processed.delete(id);
  return events.length;
}

/** The answer id of a one-click survey hit: the classifier and the comment form name the same answer. */
function surveyResponseId(hitId: string): string {
  return `survey:${hitId}`;
}

/**
 * A settled survey hit: a person's score becomes their answer (at the time of the click, so a later answer
 * still replaces it, and it replaces an earlier one); a scanner's becomes a `survey.scanner` event only,
 * so it never replaces anyone's answer. Returns that event, or nothing once the answer is stored.
 */
async function surveyHitOutcome(hit: ClickHitRecord, reason: string | null) {
  const metric = hit.target ?? '';
  if (reason) {
    return {
      eventId: `survey-scanner:${hit._id}`,
      customerId: hit.customerId,
      name: 'survey.scanner',
      experiment: hit.experiment,
      timestamp: hit.at,
      properties: { messageId: hit.messageId, variant: hit.variant, metric, score: hit.score, reason },
    };
  }
  try {
    await eventsService.respond({ responseId: surveyResponseId(hit._id), customerId: hit.customerId, metric, score: hit.score!, experiment: hit.experiment, timestamp: hit.at });
  } catch (error) {
    // An experiment deleted since: the hit is dropped with the others of its age, the rest go on.
    logger.warn({ err: error, experiment: hit.experiment }, 'could not record a one-click survey answer');
  }
  return undefined;
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

  /**
   * The survey metric a survey token asks about: a built-in, or a library or custom survey metric of the
   * token's experiment (its own scale); null for any other token.
   */
  async surveyMetric(token: TrackingPayload): Promise<SurveyMetricInfo | null> {
    if (token.purpose !== 'survey' || !token.target) return null;
    const key = token.target;
    // A built-in's link stays good without reading the experiment (its scale is fixed).
    if (isBuiltInSurveyMetric(key)) return builtInSurveyMetric(key);
    const experiment = await experimentsService.getCached(token.experiment).catch(() => undefined);
    return (experiment && findSurveyMetric(experiment, key)) ?? null;
  },

  /** The score as a whole number on the metric's scale, or null. */
  parseScore(metric: SurveyMetricInfo, raw: unknown): number | null {
    if (typeof raw !== 'string' || !/^-?\d{1,3}$/.test(raw.trim())) return null;
    const score = Number(raw.trim());
    return score >= metric.scale.min && score <= metric.scale.max ? score : null;
  },

  /**
   * Stores a one-click score durably as a hit; the click classifier turns it into the answer once the hits
   * around it are known (a scanner's burst is not an answer). Returns the hit's id, for the comment form.
   */
  async recordSurveyHit(token: TrackingPayload, metric: string, score: number, request: RequestFacts): Promise<string> {
    const id = randomUUID();
    await trackingRepository.insertHit({
      _id: id,
      messageId: token.messageId,
      customerId: token.customerId,
      experiment: token.experiment,
      variant: token.variant,
      purpose: 'survey',
      target: metric,
      score,
      agent: agentOf(request.userAgent),
      at: new Date(),
    });
    return id;
  },

  /**
   * Records the answer of the thank-you page's form (a person's: scanners do not post forms). With the
   * page's `hitId` (its one-click score), the comment goes on that score's answer, whether the classifier has
   * stored it yet or not; otherwise it is a new answer. The counting layer keeps one answer per customer,
   * metric and experiment, the latest replacing the earlier.
   */
  async recordAnswer(token: TrackingPayload, metric: string, score: number, comment?: string, hitId?: string): Promise<void> {
    const base = { customerId: token.customerId, metric, score, experiment: token.experiment, ...(comment ? { comment } : {}) };
    if (!hitId) {
      await eventsService.respond({ responseId: randomUUID(), ...base });
      return;
    }
    const responseId = surveyResponseId(hitId);
    const stored = await eventsService.respond({ responseId, ...base });
    if (!stored.duplicate || !comment) return;
    const existing = await eventsRepository.findResponse(responseId);
    // The same person's answer to the same survey (the id is only on their page), else a new answer.
    if (existing && existing.customerId === token.customerId && existing.experiment === token.experiment && existing.metric === metric && existing.score === score) {
      await eventsRepository.setResponseComment(responseId, comment);
    } else {
      await eventsService.respond({ responseId: randomUUID(), ...base });
    }
  },

  /** Unsubscribes at once; repeats change nothing (insert-only list, deterministic event id). */
  async unsubscribe(token: TrackingPayload, source: 'one_click' | 'link'): Promise<void> {
    await suppressionService.unsubscribe({ customerId: token.customerId, source, experiment: token.experiment, messageId: token.messageId });
    const id = createHash('sha256').update(JSON.stringify([token.experiment, token.customerId])).digest('base64url').slice(0, 32);
    await eventsService.ingest([
      { eventId: `unsubscribe:${id}`, customerId: token.customerId, name: 'unsubscribe', experiment: token.experiment, properties: { messageId: token.messageId, variant: token.variant, source } },
    ]);
  },

  /**
   * The survey's follow-up question in the recipient's language: the experiment's own text for that
   * language, else the built-in question; undefined when the survey asks none (or the experiment is gone).
   */
  async followUpQuestion(token: TrackingPayload, locale: Locale): Promise<string | undefined> {
    const followUp = (await experimentsService.getCached(token.experiment).catch(() => undefined))?.survey?.followUp;
    if (followUp === undefined) return undefined;
    return (followUp === true ? undefined : followUp[locale]) ?? words(locale).followUp;
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
