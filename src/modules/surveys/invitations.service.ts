// The survey frequency cap: at most one survey invitation per customer, experiment and metric per period
// (SURVEY_FREQUENCY_PERIOD, default 30 days), across every campaign of the experiment. A sender claims the
// invitations of the messages it is about to send: a message whose customer was invited within the
// period by another message goes without its survey block.
import { invitationId, invitationsRepository } from './invitations.repository';
import type { SurveyInvitationRecord } from './invitations.model';

export interface SurveysSettings {
  /** SURVEY_FREQUENCY_PERIOD in milliseconds. */
  invitationPeriodMs: number;
}

let settings: SurveysSettings = { invitationPeriodMs: 30 * 24 * 3600_000 };

/** Given by the composition root (src/wiring.ts). */
export function configureSurveys(given: SurveysSettings): void {
  settings = { ...given };
}

export interface InvitationCandidate {
  messageId: string;
  customerId: string;
}

export const surveyInvitations = {
  /**
   * Claims the survey invitation for each message (one per customer: the first message of a customer
   * in the list); returns the messageIds that may carry the survey. A message that claimed it before (a
   * retry) still may.
   */
  async claim(experiment: string, metric: string, candidates: InvitationCandidate[], now: Date = new Date()): Promise<Set<string>> {
    const allowed = new Set<string>();
    const byCustomer = new Map<string, InvitationCandidate>();
    for (const candidate of candidates) if (!byCustomer.has(candidate.customerId)) byCustomer.set(candidate.customerId, candidate);
    if (byCustomer.size === 0) return allowed;
    const record = (c: InvitationCandidate): SurveyInvitationRecord => ({ _id: invitationId(experiment, metric, c.customerId), experiment, metric, customerId: c.customerId, messageId: c.messageId, invitedAt: now });
    const stored = await invitationsRepository.findMany([...byCustomer.values()].map((c) => invitationId(experiment, metric, c.customerId)));
    const fresh: SurveyInvitationRecord[] = [];
    for (const candidate of byCustomer.values()) {
      const existing = stored.get(invitationId(experiment, metric, candidate.customerId));
      if (!existing) fresh.push(record(candidate));
      else if (existing.messageId === candidate.messageId) allowed.add(candidate.messageId);
      else if (now.getTime() - existing.invitedAt.getTime() >= settings.invitationPeriodMs && (await invitationsRepository.renew(record(candidate), existing.invitedAt))) allowed.add(candidate.messageId);
    }
    const taken = await invitationsRepository.insertFirst(fresh);
    for (const invitation of fresh) if (!taken.has(invitation._id)) allowed.add(invitation.messageId);
    return allowed;
  },
};
