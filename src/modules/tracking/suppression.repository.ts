import { collectionOf } from '../../db/connection';
import { findByIds } from '../../db/find-by-ids';
import { insertNew } from '../../db/insert-new';
import { SuppressionModel, type SuppressionRecord } from './suppression.model';

const suppressions = () => collectionOf<SuppressionRecord>(SuppressionModel);

export const suppressionRepository = {
  /** Inserts the entries that are new; returns the _ids that existed already. */
  async insert(records: SuppressionRecord[]): Promise<Set<string>> {
    return insertNew(suppressions(), records);
  },

  /** Which of the ids are suppressed: one `_id $in` read a chunk. */
  async existing(ids: string[]): Promise<Set<string>> {
    return new Set((await findByIds(suppressions(), ids)).keys());
  },

  /** Whether any of the ids is suppressed: point lookups by _id only (fast on every backend). */
  async anyExists(ids: string[]): Promise<boolean> {
    const found = await Promise.all(ids.map((id) => suppressions().findOne({ _id: id }, { projection: { _id: 1 } })));
    return found.some((record) => record !== null);
  },
};
