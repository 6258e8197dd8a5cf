// The only code that touches the aggregate collections. Writes go through the driver: they are the hot path.
import type { AnyBulkWriteOperation } from 'mongodb';
import { collectionOf } from '../../db/connection';
import { groupCommit } from '../../db/group-commit';
import { insertNew } from '../../db/insert-new';
import { AggregateModel, UnitModel, type AggregateRecord, type UnitRecord } from './aggregates.model';

export const ASSIGNED = '$assigned';

export function aggregateId(experiment: string, variant: string, metric: string): string {
  return `${experiment}|${variant}|${metric}`;
}
export function unitId(experiment: string, metric: string, customerId: string): string {
  return `${experiment}|${metric}|${customerId}`;
}

export interface AggregateDelta {
  experiment: string;
  variant: string;
  metric: string;
  units?: number;
  sum?: number;
  sumSquares?: number;
  histogram?: Record<string, number>;
}

/** Sums many deltas into one per aggregate, so a batch of events costs one write per aggregate. */
export class DeltaAccumulator {
  private readonly deltas = new Map<string, Required<AggregateDelta>>();

  add(delta: AggregateDelta): void {
    const id = aggregateId(delta.experiment, delta.variant, delta.metric);
    let current = this.deltas.get(id);
    if (!current) {
      current = { experiment: delta.experiment, variant: delta.variant, metric: delta.metric, units: 0, sum: 0, sumSquares: 0, histogram: {} };
      this.deltas.set(id, current);
    }
    current.units += delta.units ?? 0;
    current.sum += delta.sum ?? 0;
    current.sumSquares += delta.sumSquares ?? 0;
    for (const [score, count] of Object.entries(delta.histogram ?? {})) current.histogram[score] = (current.histogram[score] ?? 0) + count;
  }

  get size(): number {
    return this.deltas.size;
  }

  values(): Required<AggregateDelta>[] {
    return [...this.deltas.values()];
  }
}

const collection = () => collectionOf<AggregateRecord>(AggregateModel);
const units = () => collectionOf<UnitRecord>(UnitModel);

async function writeDeltas(accumulator: DeltaAccumulator): Promise<void> {
  const ops: AnyBulkWriteOperation<AggregateRecord>[] = accumulator.values().map((delta) => {
    const inc: Record<string, number> = { units: delta.units, sum: delta.sum, sumSquares: delta.sumSquares };
    for (const [score, count] of Object.entries(delta.histogram)) if (count !== 0) inc[`histogram.${score}`] = count;
    return {
      updateOne: {
        filter: { _id: aggregateId(delta.experiment, delta.variant, delta.metric) },
        update: { $inc: inc, $setOnInsert: { experiment: delta.experiment, variant: delta.variant, metric: delta.metric } },
        upsert: true,
      },
    };
  });
  await collection().bulkWrite(ops, { ordered: false });
}

/** Sums the deltas of every waiting caller into one bulk write. */
const commitDeltas = groupCommit<DeltaAccumulator, void>(async (batches) => {
  const merged = new DeltaAccumulator();
  for (const batch of batches) for (const delta of batch.values()) merged.add(delta);
  await writeDeltas(merged);
  return batches.map(() => undefined);
});

export const aggregatesRepository = {
  /** Adds deltas to the aggregates; concurrent callers share one write (see group-commit.ts). */
  async applyDeltas(accumulator: DeltaAccumulator): Promise<void> {
    if (accumulator.size > 0) await commitDeltas(accumulator);
  },

  async forExperiment(experiment: string): Promise<AggregateRecord[]> {
    return AggregateModel.find({ experiment }).lean<AggregateRecord[]>();
  },

  /** Inserts new unit records; returns the ids that already existed (the customer was counted before). */
  async insertUnits(records: UnitRecord[]): Promise<Set<string>> {
    return insertNew(units(), records);
  },

  /** Adds to a customer's summed value and returns the new total. */
  async incrementUnitValue(id: string, by: number): Promise<number | null> {
    const after = await units().findOneAndUpdate({ _id: id }, { $inc: { value: by } }, { returnDocument: 'after' });
    return after ? after.value : null;
  },

  /** Replaces a survey answer unless the stored one is newer; returns the replaced record, or null. */
  async replaceAnswer(id: string, score: number, responseId: string, at: Date): Promise<UnitRecord | null> {
    const before = await units().findOneAndUpdate(
      { _id: id, at: { $lte: at } },
      { $set: { value: score, responseId, at } },
      { returnDocument: 'before' },
    );
    return before;
  },

  async findUnit(id: string): Promise<UnitRecord | null> {
    return UnitModel.findById(id).lean<UnitRecord>();
  },

  async deleteForExperiment(experiment: string): Promise<void> {
    await units().deleteMany({ experiment });
    await collection().deleteMany({ experiment });
  },

  async insertAggregates(records: AggregateRecord[]): Promise<void> {
    if (records.length > 0) await collection().insertMany(records, { ordered: false });
  },

  async insertUnitsUnchecked(records: UnitRecord[]): Promise<void> {
    for (let i = 0; i < records.length; i += 5000) await units().insertMany(records.slice(i, i + 5000), { ordered: false });
  },
};

