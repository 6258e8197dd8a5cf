import { Schema, model } from 'mongoose';

/**
 * The last survey invitation of one customer for one experiment and metric, whichever campaign sent it:
 * the frequency cap (at most one per SURVEY_FREQUENCY_PERIOD) is read and claimed by _id alone.
 */
export interface SurveyInvitationRecord {
  _id: string; // `${experiment}|${metric}|${customerId}`
  experiment: string;
  metric: string;
  customerId: string;
  /** The message that carried it (a retry of the same message carries it again). */
  messageId: string;
  invitedAt: Date;
}

const surveyInvitationSchema = new Schema<SurveyInvitationRecord>(
  {
    _id: String,
    experiment: { type: String, required: true },
    metric: { type: String, required: true },
    customerId: { type: String, required: true },
    messageId: { type: String, required: true },
    invitedAt: { type: Date, required: true },
  },
  { versionKey: false, collection: 'survey_invitations' },
);

export const SurveyInvitationModel = model<SurveyInvitationRecord>('SurveyInvitation', surveyInvitationSchema);
