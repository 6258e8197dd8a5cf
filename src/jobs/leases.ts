// Leases in the database: a duty is run by the one instance holding its lease. A lease is taken with a
// compare-and-set (free, expired, or already ours), renewed while the duty runs, and expires when its
// holder dies, so another instance takes it over within one lease period.
import type { Document } from 'mongodb';
import { db } from '../db/connection';
import { insertNew } from '../db/insert-new';

export interface LeaseRecord extends Document {
  _id: string;
  holder: string;
  until: Date;
  /** Incremented on every change of holder: a fencing token. */
  epoch: number;
}

const leases = () => db().collection<LeaseRecord>('job_leases');

export const leasesRepository = {
  /** Takes or renews the lease; resolves to its epoch when `holder` holds it now, else null. */
  async claim(name: string, holder: string, durationMs: number, now = new Date()): Promise<number | null> {
    await insertNew(leases(), [{ _id: name, holder: '', until: new Date(0), epoch: 0 }]);
    const until = new Date(now.getTime() + durationMs);
    const renewed = await leases().findOneAndUpdate({ _id: name, holder, until: { $gte: now } }, { $set: { until } }, { returnDocument: 'after' });
    if (renewed) return renewed.epoch;
    const taken = await leases().findOneAndUpdate(
      { _id: name, $or: [{ until: { $lt: now } }, { holder }] },
      { $set: { holder, until }, $inc: { epoch: 1 } },
      { returnDocument: 'after' },
    );
    return taken ? taken.epoch : null;
  },

  /** Gives the lease up (on a clean stop), so another instance need not wait for it to expire. */
  async release(name: string, holder: string): Promise<void> {
    await leases().updateOne({ _id: name, holder }, { $set: { until: new Date(0) } });
  },

  async read(name: string): Promise<LeaseRecord | null> {
    return leases().findOne({ _id: name });
  },
};
