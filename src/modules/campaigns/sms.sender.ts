// What the sender does with one message of an SMS campaign: composes it (template, short link, opt-out
// line; src/modules/sms), submits it through the SMS transport and says what to record, in the same
// terms as an email's outcome (sent, failed, or a temporary failure the sender retries later).
import { createHash } from 'node:crypto';
import type { ExperimentRecord } from '../experiments';
import { SmsSendError, smsService, type SmsTransport } from '../sms';
import type { CampaignRecord, DeliveryRecord, MessageRecord } from './campaigns.model';

export type SmsOutcome =
  | { kind: 'sent'; fields: Partial<DeliveryRecord> }
  | { kind: 'failed'; error: string; responseCode?: number }
  | { kind: 'transient'; error: string; responseCode?: number };

export function smsOutboxFile(message: MessageRecord): string {
  return `${message.phase}-${createHash('sha256').update(message.customerId).digest('hex').slice(0, 20)}.sms.json`;
}

/** `surveyed`: whether the message's link may offer the survey (its frequency cap, as for email). */
export async function sendCampaignSms(transport: SmsTransport, campaign: CampaignRecord, experiment: ExperimentRecord, message: MessageRecord, surveyed = true): Promise<SmsOutcome> {
  if (!message.phone) return { kind: 'failed', error: 'the recipient has no phone number' };
  const facts = {
    messageId: message._id,
    campaign: campaign._id,
    phase: message.phase,
    variant: message.variant,
    recipient: {
      customerId: message.customerId,
      phone: message.phone,
      ...(message.name !== undefined ? { name: message.name } : {}),
      ...(message.locale !== undefined ? { locale: message.locale } : {}),
      ...(message.attributes !== undefined ? { attributes: message.attributes } : {}),
    },
  };
  let text: string;
  try {
    text = await smsService.compose({ ...facts, experiment, survey: surveyed });
  } catch (error) {
    return { kind: 'failed', error: `render: ${(error as Error).message}`.slice(0, 300) };
  }
  try {
    const sent = await transport.send({ from: campaign.from, to: message.phone, text }, { campaign: campaign._id, file: smsOutboxFile(message) });
    // Recorded before the outcome, so a receipt that arrives at once finds its message.
    if (sent.smscId) await smsService.recordSubmission({ ...facts, experiment: experiment._id, smscId: sent.smscId });
    return {
      kind: 'sent',
      fields: {
        segments: sent.segments,
        ...(sent.smscId ? { smscId: sent.smscId, response: `accepted as ${sent.smscId}${sent.throttled ? ` after ${sent.throttled} throttled tries` : ''}` } : {}),
        ...(sent.file ? { file: sent.file } : {}),
      },
    };
  } catch (error) {
    const code = error instanceof SmsSendError && error.commandStatus !== undefined ? { responseCode: error.commandStatus } : {};
    const reason = (error as Error).message.slice(0, 300);
    return error instanceof SmsSendError && error.kind === 'failed' ? { kind: 'failed', error: reason, ...code } : { kind: 'transient', error: reason, ...code };
  }
}
