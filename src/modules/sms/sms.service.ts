// SMS beside email: composes each message (template, short signed link, opt-out line), remembers what
// was submitted under which SMSC id, and records what the SMSC reports back: delivery receipts (delivered,
// failed, expired, once per message) and inbound opt-outs (STOP and the locale's equivalents), which
// unsubscribe the customer and the number exactly as an email unsubscribe does. The short link opens a
// page that counts the click (sms.click) and offers the experiment's survey.
import { createHash } from 'node:crypto';
import { logger } from '../../lib/logger';
import type { SmsSegmentCount } from '../../lib/sms-segments';
import { eventsService } from '../events';
import type { ExperimentRecord } from '../experiments';
import { shortReference, signShortToken, suppressionService, trackingUrls, verifyShortToken } from '../tracking';
import { DEFAULT_OPT_OUT_KEYWORDS, optOutKeywordOf, optOutLine, parseOptOutKeywords, type OptOutKeywords } from '../../lib/sms-opt-out';
import { isDeliveryReceipt, parseDeliveryReceipt } from './sms.protocol';
import type { SmsLinkRecord } from './sms.model';
import { estimateSmsSegments, renderSmsText, type SmsRecipientFields } from './sms.render';
import { smsRepository } from './sms.repository';
import { createSmsTransport, type InboundSms, type SmsSettings, type SmsTransport } from './sms.transport';

const RECEIPT_LOOKUPS = 5;
const RECEIPT_LOOKUP_MS = 200;

let settings: SmsSettings | undefined;
let keywords: OptOutKeywords = parseOptOutKeywords(DEFAULT_OPT_OUT_KEYWORDS)!;
let shared: SmsTransport | undefined;

/** Given by the composition root (src/wiring.ts); the transport is made on first use. */
export function configureSms(given: SmsSettings): void {
  closeSharedSmsTransport();
  settings = { ...given };
  keywords = parseOptOutKeywords(given.optOutKeywords ?? DEFAULT_OPT_OUT_KEYWORDS) ?? keywords;
}

/** The process-wide transport (SmsSettings from configureSms). */
export function sharedSmsTransport(): SmsTransport {
  if (!shared) {
    if (!settings) throw new Error('sms is not configured (configureSms, called by the composition root)');
    shared = createSmsTransport(settings);
  }
  return shared;
}

export function closeSharedSmsTransport(): void {
  shared?.close();
  shared = undefined;
}

/** sha256 of the E.164 number: how submissions and inbound messages name a phone. */
export function phoneKeyOf(phone: string): string {
  return createHash('sha256').update(phone).digest('hex');
}

/** An SMSC's source_addr as E.164 (SMSCs drop the +). */
function e164(address: string): string {
  return `+${address.replace(/\D/g, '')}`;
}

export interface SmsMessageFacts {
  messageId: string;
  campaign: string;
  phase: string;
  experiment: ExperimentRecord;
  variant: string;
  recipient: SmsRecipientFields & { phone: string };
  /** false: the link offers no survey (the customer was invited within the survey period). */
  survey?: boolean;
}

/** A short link of the same length as every real one, for estimates. */
function sampleLink(): string {
  return trackingUrls.short(signShortToken(shortReference('sample')));
}

export const smsService = {
  /** The text of one message; stores what its short link stands for first, so the link works once it arrives. */
  async compose(facts: SmsMessageFacts): Promise<string> {
    const variant = facts.experiment.variants.find((v) => v.key === facts.variant);
    const source = variant?.content.text;
    if (typeof source !== 'string') throw new Error(`variant "${facts.variant}" of experiment "${facts.experiment._id}" is not SMS content`);
    const ref = shortReference(facts.messageId);
    await smsRepository.insertLink({
      _id: ref,
      messageId: facts.messageId,
      campaign: facts.campaign,
      customerId: facts.recipient.customerId,
      experiment: facts.experiment._id,
      variant: facts.variant,
      ...(facts.recipient.locale !== undefined ? { locale: facts.recipient.locale } : {}),
      ...(facts.survey === false ? { survey: false as const } : {}),
      createdAt: new Date(),
    });
    return renderSmsText(source, facts.recipient, trackingUrls.short(signShortToken(ref)), optOutLine(facts.recipient.locale, keywords));
  },

  /** Encoding and segments of a variant's message as sent (link and opt-out line included), per locale given. */
  estimate(text: string, locale?: string): SmsSegmentCount {
    return estimateSmsSegments(text, sampleLink(), optOutLine(locale, keywords));
  },

  /** After the SMSC accepted a message: its id, so the receipt finds the message. */
  async recordSubmission(facts: Omit<SmsMessageFacts, 'experiment'> & { experiment: string; smscId: string }): Promise<void> {
    await smsRepository.insertSubmission({
      _id: facts.smscId,
      messageId: facts.messageId,
      campaign: facts.campaign,
      phase: facts.phase,
      variant: facts.variant,
      customerId: facts.recipient.customerId,
      experiment: facts.experiment,
      phoneKey: phoneKeyOf(facts.recipient.phone),
      at: new Date(),
    });
  },

  /** A deliver_sm from the SMSC: a receipt, or an inbound message. Resolves once what it says is stored. */
  async handleInbound(sms: InboundSms): Promise<void> {
    if (isDeliveryReceipt(sms.esmClass) || sms.receiptedMessageId !== undefined) {
      const receipt = parseDeliveryReceipt(sms.text, { ...(sms.receiptedMessageId !== undefined ? { receiptedMessageId: sms.receiptedMessageId } : {}), ...(sms.messageState !== undefined ? { messageState: sms.messageState } : {}) });
      // An intermediate state (ENROUTE, ACCEPTD) or a receipt naming nothing: acknowledged, nothing to count.
      if (!receipt?.status) return;
      // A receipt can overtake the record of its submit (written once submit_sm_resp is in): looked up a
      // few times, then refused, so the SMSC delivers it again later (ESME_RX_T_APPN).
      let submission = await smsRepository.findSubmission(receipt.id);
      for (let i = 0; !submission && i < RECEIPT_LOOKUPS; i++) {
        await new Promise((resolve) => setTimeout(resolve, RECEIPT_LOOKUP_MS));
        submission = await smsRepository.findSubmission(receipt.id);
      }
      if (!submission) throw new Error(`delivery receipt for SMSC id ${receipt.id}, which Verdict has no record of (yet)`);
      await smsRepository.insertReceipt({
        _id: submission.messageId,
        campaign: submission.campaign,
        phase: submission.phase,
        variant: submission.variant,
        customerId: submission.customerId,
        smscId: receipt.id,
        status: receipt.status,
        stat: receipt.stat,
        ...(receipt.err !== undefined ? { err: receipt.err } : {}),
        n: 1,
        at: new Date(),
      });
      return;
    }
    const phone = e164(sms.from);
    const phoneKey = phoneKeyOf(phone);
    const keyword = optOutKeywordOf(sms.text, keywords);
    const latest = keyword ? await smsRepository.latestSubmissionTo(phoneKey) : null;
    if (keyword && latest) {
      // As an email unsubscribe: the customer and the number are suppressed, and the experiment counts it once.
      await suppressionService.unsubscribe({ customerId: latest.customerId, phone, source: 'sms_stop', experiment: latest.experiment, messageId: latest.messageId });
      const id = createHash('sha256').update(JSON.stringify([latest.experiment, latest.customerId])).digest('base64url').slice(0, 32);
      await eventsService.ingest([
        { eventId: `unsubscribe:${id}`, customerId: latest.customerId, name: 'unsubscribe', experiment: latest.experiment, properties: { messageId: latest.messageId, variant: latest.variant, source: 'sms_stop' } },
      ]);
    } else if (keyword) {
      logger.warn({ keyword }, 'SMS opt-out from a number Verdict never sent to; nothing to suppress');
    }
    await smsRepository.insertInbound({
      _id: createHash('sha256').update(JSON.stringify([phoneKey, sms.text, sms.to, Date.now()])).digest('base64url').slice(0, 32),
      phoneKey,
      optOut: keyword !== null,
      ...(keyword ? { keyword } : {}),
      ...(latest ? { customerId: latest.customerId, experiment: latest.experiment } : {}),
      at: new Date(),
    });
  },

  /** Receipts per phase, variant and status (reads only). */
  receiptCounts(campaign: string) {
    return smsRepository.receiptCounts(campaign);
  },

  /** What a short link stands for; null for a token that is not genuine or names no message. Reads only. */
  async resolveShortLink(token: string): Promise<SmsLinkRecord | null> {
    const ref = verifyShortToken(token);
    return ref ? smsRepository.findLink(ref) : null;
  },

  /** A person opened the short link: one sms.click per message, however often it is opened. */
  async recordClick(link: SmsLinkRecord): Promise<void> {
    await eventsService.ingest([
      { eventId: `sms-click:${link._id}`, customerId: link.customerId, name: 'sms.click', experiment: link.experiment, properties: { messageId: link.messageId, variant: link.variant } },
    ]);
  },
};
