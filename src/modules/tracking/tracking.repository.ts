import { collectionOf } from '../../db/connection';
import { ClickHitModel, type ClickHitRecord } from './tracking.model';

const hits = () => collectionOf<ClickHitRecord>(ClickHitModel);

export const trackingRepository = {
  async insertHit(record: ClickHitRecord): Promise<void> {
    await hits().insertOne(record);
  },

  /** Every pending hit: the collection only holds the last few minutes. */
  async allHits(): Promise<ClickHitRecord[]> {
    return hits().find({}).toArray();
  },

  async deleteHits(ids: string[]): Promise<void> {
    if (ids.length > 0) await hits().deleteMany({ _id: { $in: ids } });
  },
};
