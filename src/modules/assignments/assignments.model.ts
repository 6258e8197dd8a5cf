import { Schema, model } from 'mongoose';

export interface AssignmentRecord {
  _id: string; // `${experiment}:${customerId}`: unique per experiment and customer, and the fast lookup
  experiment: string;
  customerId: string;
  variant: string;
  /** holdout: put in a campaign's no-send arm (variant "holdout"); imported: made elsewhere, imported with its time. */
  reason: 'hash' | 'forced' | 'holdout' | 'imported';
  assignedAt: Date;
  /** The values of the experiment's dimensions (segments) among the attributes given at assignment. */
  dims?: Record<string, string>;
}

const assignmentSchema = new Schema<AssignmentRecord>(
  {
    _id: String,
    experiment: { type: String, required: true, index: true },
    customerId: { type: String, required: true, index: true },
    variant: { type: String, required: true },
    reason: { type: String, required: true },
    assignedAt: { type: Date, required: true },
    dims: Schema.Types.Mixed,
  },
  { versionKey: false, collection: 'assignments' },
);

export const AssignmentModel = model<AssignmentRecord>('Assignment', assignmentSchema);
