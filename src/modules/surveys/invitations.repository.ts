import { collectionOf } from '../../db/connection';
import { findByIds } from '../../db/find-by-ids';
import { insertEach } from '../../db/insert-new';
import { SurveyInvitationModel, type SurveyInvitationRecord } from './invitations.model';

const invitations = () => collectionOf<SurveyInvitationRecord>(SurveyInvitationModel);

export function invitationId(experiment: string, metric: string, customerId: string): string {
  return `${experiment}|${metric}|${customerId}`;
}

export const invitationsRepository = {
  async findMany(ids: string[]): Promise<Map<string, SurveyInvitationRecord>> {
    return findByIds(invitations(), ids);
  },

  /** Inserts first invitations; returns the _ids that someone stored meanwhile (not claimed here). */
  async insertFirst(records: SurveyInvitationRecord[]): Promise<Set<string>> {
    const { existing, failed } = await insertEach(invitations(), records);
    const [first] = failed.values();
    if (first) throw first;
    return existing;
  },

  /** Moves an invitation to a new message when the one stored is still `previousAt` (older than the cap); false when it moved meanwhile. */
  async renew(record: SurveyInvitationRecord, previousAt: Date): Promise<boolean> {
    const result = await invitations().updateOne({ _id: record._id, invitedAt: previousAt }, { $set: { messageId: record.messageId, invitedAt: record.invitedAt } });
    return result.modifiedCount === 1;
  },
};
