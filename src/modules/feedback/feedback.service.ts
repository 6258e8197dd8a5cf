// Spam complaints, told to Verdict by a sending platform (POST /v1/events, name "complaint") or by a
// mailbox provider's feedback loop (an ARF report, RFC 5965). Either way the customer is suppressed like
// an unsubscribe (and the address too, when known), and the complaint counts for the complaint metric.
import { createHash } from 'node:crypto';
import { BadRequestError, NotFoundError } from '../../lib/errors';
import { findSentMessage } from '../campaigns';
import { eventsService, type EventObserver } from '../events';
import { suppressionService, verifyToken } from '../tracking';
import { first, parseArf, signedLinkTokens, type FeedbackReport } from './arf.parser';

/** Feedback types that are complaints about the message (RFC 5965 §7.3); not-spam and the rest are not. */
export const COMPLAINT_FEEDBACK_TYPES = ['abuse', 'fraud', 'virus'] as const;

export const COMPLAINT_EVENT = 'complaint';

/** The observer of stored "complaint" events (registered by src/wiring.ts): suppresses each customer. */
export const suppressComplainers: EventObserver = async (events) => {
  const byCustomer = new Map(events.map((e) => [e.customerId, e]));
  await Promise.all(
    [...byCustomer.values()].map((e) => {
      const messageId = e.properties?.messageId;
      return suppressionService.unsubscribe({
        customerId: e.customerId,
        source: 'complaint',
        ...(e.experiment !== undefined ? { experiment: e.experiment } : {}),
        ...(typeof messageId === 'string' ? { messageId } : {}),
      });
    }),
  );
};

interface Reported {
  messageId: string;
  customerId: string;
  experiment: string;
  variant: string;
  email?: string;
  via: 'signed_link' | 'message_id';
}

/** The reported message: from a signed link of Verdict's in its headers or body, else by its Message-ID. */
async function findReported(report: FeedbackReport): Promise<Reported | null> {
  for (const token of signedLinkTokens(report)) {
    const payload = verifyToken(token);
    if (!payload) continue;
    const message = await findSentMessage({ id: payload.messageId });
    return { messageId: payload.messageId, customerId: payload.customerId, experiment: payload.experiment, variant: payload.variant, ...(message?.email !== undefined ? { email: message.email } : {}), via: 'signed_link' };
  }
  const header = first(report.original, 'message-id')?.trim();
  if (header && header.length <= 998) {
    const message = await findSentMessage({ header: header.startsWith('<') ? header : `<${header}>` });
    if (message) return { messageId: message.messageId, customerId: message.customerId, experiment: message.experiment, variant: message.variant, ...(message.email !== undefined ? { email: message.email } : {}), via: 'message_id' };
  }
  return null;
}

/** Original-Rcpt-To is often redacted; only a plausible address is used. */
function addressOf(value: string | undefined): string | undefined {
  const address = value?.trim().replace(/^<(.*)>$/, '$1');
  return address && /^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+$/.test(address) ? address : undefined;
}

export interface ArfOutcome {
  recorded: boolean;
  feedbackType: string;
  duplicate?: boolean;
  customerId?: string;
  experiment?: string;
  variant?: string;
  messageId?: string;
  foundBy?: 'signed_link' | 'message_id';
  reason?: string;
}

export const feedbackService = {
  /**
   * Records an ARF report's complaint: suppresses the customer and the address, and stores one
   * "complaint" event per customer and experiment (a repeated report counts once).
   */
  async recordArf(raw: string): Promise<ArfOutcome> {
    const report = parseArf(raw);
    if ('problem' in report) throw new BadRequestError(`body: ${report.problem}`);
    if (!(COMPLAINT_FEEDBACK_TYPES as readonly string[]).includes(report.feedbackType)) {
      return { recorded: false, feedbackType: report.feedbackType, reason: `Feedback-Type "${report.feedbackType}" is not a complaint (${COMPLAINT_FEEDBACK_TYPES.join(', ')} are): nothing recorded` };
    }
    const reported = await findReported(report);
    if (!reported) throw new NotFoundError('the reported message (the report holds neither a signed link of Verdict nor the Message-ID of a message Verdict sent)');
    const email = reported.email ?? addressOf(report.originalRcptTo);
    await suppressionService.unsubscribe({ customerId: reported.customerId, ...(email ? { email } : {}), source: 'complaint', experiment: reported.experiment, messageId: reported.messageId });
    const id = createHash('sha256').update(JSON.stringify([reported.experiment, reported.customerId])).digest('base64url').slice(0, 32);
    const { accepted } = await eventsService.ingest([
      {
        eventId: `complaint:${id}`,
        customerId: reported.customerId,
        name: COMPLAINT_EVENT,
        experiment: reported.experiment,
        properties: {
          messageId: reported.messageId,
          variant: reported.variant,
          source: 'arf',
          feedbackType: report.feedbackType,
          ...(report.userAgent ? { reporter: report.userAgent.slice(0, 200) } : {}),
        },
      },
    ]);
    return {
      recorded: true,
      feedbackType: report.feedbackType,
      duplicate: accepted === 0,
      customerId: reported.customerId,
      experiment: reported.experiment,
      variant: reported.variant,
      messageId: reported.messageId,
      foundBy: reported.via,
    };
  },
};
