// The change counter: one small document whose fields count the changes made to each kind of cached
// state (experiments, API keys). The only code touching the `changes` collection.
import type { Document } from 'mongodb';
import { db } from '../../db/connection';

export type ChangeScope = 'experiments' | 'apiKeys';

interface ChangesRecord extends Document {
  _id: 'changes';
  experiments?: number;
  apiKeys?: number;
}

const changes = () => db().collection<ChangesRecord>('changes');

export const changesRepository = {
  /** Counts one change (an atomic $inc, also on the embedded database). */
  async increment(scope: ChangeScope): Promise<void> {
    await changes().updateOne({ _id: 'changes' }, { $inc: { [scope]: 1 } }, { upsert: true });
  },

  async read(): Promise<Record<ChangeScope, number>> {
    const record = await changes().findOne({ _id: 'changes' });
    return { experiments: record?.experiments ?? 0, apiKeys: record?.apiKeys ?? 0 };
  },
};
