// The only code that touches the aggregate collections. Written only by the aggregator (one at a time,
// under its lease); writes go through the driver.
import type { AnyBulkWriteOperation, Collection } from 'mongodb';
import { countingCollectionOf, countingDb } from '../../db/connection';
import { findByIds, findByIdsInParallel } from '../../db/find-by-ids';
import { insertNew } from '../../db/insert-new';
import { ASSIGNED, aggregateId, unitId, type AggregateChange } from '../counting';
import { BUILT_IN_METRIC_KEYS } from '../experiments';
import { AggregateModel, TotalsModel, UnitModel, type AggregateRecord, type CohortAggregate, type CohortAggregateDocument, type CohortTotals, type TotalsDocument, type UnitRecord } from './aggregates.model';

export { ASSIGNED, aggregateId, unitId };

const aggregates = () => countingCollectionOf<CohortAggregateDocument>(AggregateModel);
const totalsOf = () => countingCollectionOf<TotalsDocument>(TotalsModel);
/**
 * A unit as stored: its _id (experiment|metric|customer) and the rest as one JSON string,
 * `[variant, cohort, value, at (ms), responseId?]`. The aggregator rewrites thousands of units a plan;
 * the embedded database's cost per document grows with its fields, so two fields instead of nine make
 * those writes and reads several times cheaper.
 */
interface StoredUnit { _id: string; s: string }
const units = () => countingCollectionOf<StoredUnit>(UnitModel);

function toStoredUnit(unit: UnitRecord): StoredUnit {
  const fields: (string | number | null | [number, number][])[] = [unit.variant, unit.cohort, unit.value, unit.at.getTime()];
  if (unit.responseId !== undefined || unit.value2 !== undefined || unit.pre !== undefined) fields.push(unit.responseId ?? null);
  // A ratio metric's denominator total.
  if (unit.value2 !== undefined || unit.pre !== undefined) fields.push(unit.value2 ?? null);
  // A pending CUPED covariate's pre-period events.
  if (unit.pre !== undefined) fields.push(unit.pre);
  return { _id: unit._id, s: JSON.stringify(fields) };
}

function fromStoredUnit(stored: StoredUnit): UnitRecord {
  const [variant, cohort, value, at, responseId, value2, pre] = JSON.parse(stored.s) as [string, string, number, number, (string | null)?, (number | null)?, [number, number][]?];
  const [experiment = '', metric = '', ...customer] = stored._id.split('|');
  return {
    _id: stored._id,
    experiment,
    variant,
    metric,
    customerId: customer.join('|'),
    cohort,
    value,
    at: new Date(at),
    ...(typeof responseId === 'string' ? { responseId } : {}),
    ...(typeof value2 === 'number' ? { value2 } : {}),
    ...(pre ? { pre } : {}),
  };
}

/** Units in the stored form, as pairs (for the aggregator's plan, which stores them as JSON). */
export type PackedUnit = [id: string, fields: string];

export function packUnits(units: UnitRecord[]): PackedUnit[] {
  return units.map((unit) => {
    const stored = toStoredUnit(unit);
    return [stored._id, stored.s];
  });
}

export function unpackUnits(packed: PackedUnit[]): UnitRecord[] {
  return packed.map(([_id, s]) => fromStoredUnit({ _id, s }));
}

/** The _ids of an experiment's units start with its key and '|' (keys are slugs, without '|'). */
function unitsOfExperiment(experiment: string) {
  return { _id: { $regex: `^${experiment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\|` } };
}

function addTotals(into: CohortTotals, from: CohortTotals): void {
  into.units += from.units ?? 0;
  into.sum += from.sum ?? 0;
  into.sumSquares += from.sumSquares ?? 0;
  for (const [score, count] of Object.entries(from.histogram ?? {})) into.histogram[score] = (into.histogram[score] ?? 0) + count;
}

function totals(doc: CohortAggregateDocument, include: (cohort: string) => boolean = () => true): AggregateRecord {
  const record: AggregateRecord = { _id: doc._id, experiment: doc.experiment, variant: doc.variant, metric: doc.metric, units: 0, sum: 0, sumSquares: 0, histogram: {} };
  for (const [cohort, t] of Object.entries(doc.cohorts ?? {})) if (include(cohort)) addTotals(record, t);
  return record;
}

const BULK = 1000;

/**
 * A version per experiment, moved after every write to its aggregates: readers may keep what they read
 * while it stays the same (src/modules/results/results.read.ts). `p` is the last plan applied to them
 * ($max: a plan applied again after a crash leaves it as it was, as it leaves the aggregates), `r`
 * counts rebuilds (which replace the documents whatever the plan).
 */
const versions = () => countingDb().collection<{ _id: string; p?: number; r?: number }>('aggregate_versions');
async function recordVersions(experiments: Iterable<string>, update: { $max: { p: number } } | { $inc: { r: number } }): Promise<void> {
  const ops = [...new Set(experiments)].map((experiment) => ({ updateOne: { filter: { _id: experiment }, update, upsert: true } }));
  if (ops.length > 0) await versions().bulkWrite(ops, { ordered: false });
}

/** What identifies an experiment's aggregate documents: its key, variants and custom metrics. */
export interface AggregateScope {
  _id: string;
  variants: { key: string }[];
  metrics: { custom?: { key: string }[]; library?: { key: string }[] };
}

/**
 * The _ids of every aggregate an experiment can have (each variant × $assigned, the built-in metrics,
 * the library metrics it names and its custom ones): read with `_id $in`, an index lookup on every backend, where a filter on
 * `experiment` would scan the whole collection on the embedded database.
 */
function aggregateIds(scope: AggregateScope, slice?: string, only?: readonly string[]): string[] {
  const metrics = only ?? [...new Set([ASSIGNED, ...BUILT_IN_METRIC_KEYS, ...(scope.metrics.library ?? []).map((m) => m.key), ...(scope.metrics.custom ?? []).map((m) => m.key)])];
  return scope.variants.flatMap((v) => metrics.map((m) => aggregateId(scope._id, v.key, m, slice)));
}

/** The cohort documents (every metric's, or only those of `only`: reading fewer is the cost that matters). */
async function documentsOf(scope: AggregateScope, slices: (string | undefined)[] = [undefined], only?: readonly string[]): Promise<CohortAggregateDocument[]> {
  return [...(await findByIdsInParallel(aggregates(), slices.flatMap((slice) => aggregateIds(scope, slice, only)))).values()];
}

function cohortsOf(docs: CohortAggregateDocument[]): CohortAggregate[] {
  const out: CohortAggregate[] = [];
  for (const doc of docs) {
    for (const [cohort, t] of Object.entries(doc.cohorts ?? {})) {
      out.push({ experiment: doc.experiment, variant: doc.variant, metric: doc.metric, cohort, units: t.units ?? 0, sum: t.sum ?? 0, sumSquares: t.sumSquares ?? 0, histogram: { ...(t.histogram ?? {}) } });
    }
  }
  return out;
}

export const aggregatesRepository = {
  /** The experiment's aggregates version ('' when never written): it changes after every write to them. */
  async readVersion(experiment: string): Promise<string> {
    const doc = await versions().findOne({ _id: experiment });
    return doc ? `${doc.p ?? 0}:${doc.r ?? 0}` : '';
  },

  /** Whole-experiment totals per variant × metric (every cohort, or the cohorts `include` keeps). */
  async forExperiment(scope: AggregateScope, include?: (cohort: string) => boolean): Promise<AggregateRecord[]> {
    if (include) return (await documentsOf(scope)).map((doc) => totals(doc, include));
    const docs = await findByIds(totalsOf(), aggregateIds(scope));
    return [...docs.values()].map(({ n: _n, ...record }) => ({ ...record, histogram: record.histogram ?? {} }));
  },

  /** Totals per variant × metric × assignment cohort (of every metric, or only those of `only`). */
  async cohortsForExperiment(scope: AggregateScope, only?: readonly string[]): Promise<CohortAggregate[]> {
    return cohortsOf(await documentsOf(scope, [undefined], only));
  },

  /**
   * The slices of one dimension (segments): per value, the totals per variant × metric, and with
   * `cohorts` the totals per cohort of those metrics too (windowed metrics, with ASSIGNED). One `_id
   * $in` read of each collection.
   */
  async forSlices(scope: AggregateScope, slices: string[], cohorts: readonly string[]): Promise<Map<string, { totals: AggregateRecord[]; cohorts: CohortAggregate[] }>> {
    const out = new Map(slices.map((slice) => [slice, { totals: [] as AggregateRecord[], cohorts: [] as CohortAggregate[] }]));
    const ids = slices.flatMap((slice) => aggregateIds(scope, slice));
    const [totalDocs, cohortDocs] = await Promise.all([findByIds(totalsOf(), ids), cohorts.length > 0 ? documentsOf(scope, slices, cohorts) : Promise.resolve([])]);
    for (const { n: _n, slice, ...record } of [...totalDocs.values()] as (TotalsDocument & { slice?: string })[]) {
      if (slice !== undefined) out.get(slice)?.totals.push({ ...record, histogram: record.histogram ?? {} });
    }
    for (const doc of cohortDocs as (CohortAggregateDocument & { slice?: string })[]) {
      if (doc.slice !== undefined) out.get(doc.slice)?.cohorts.push(...cohortsOf([doc]));
    }
    return out;
  },

  async findUnits(ids: Iterable<string>): Promise<Map<string, UnitRecord>> {
    return new Map([...(await findByIds(units(), ids))].map(([id, stored]) => [id, fromStoredUnit(stored)]));
  },

  /**
   * Writes units in their new state: changed ones are deleted and inserted again with the created ones,
   * a few commits whatever their number (an update each would be a commit each on the embedded
   * database). Idempotent: written again from the same plan, the units end in the same state.
   */
  async saveUnits(created: UnitRecord[], changed: UnitRecord[]): Promise<void> {
    for (let i = 0; i < changed.length; i += BULK) await units().deleteMany({ _id: { $in: changed.slice(i, i + BULK).map((u) => u._id) } });
    const all = [...created, ...changed].map(toStoredUnit);
    for (let i = 0; i < all.length; i += 5000) await insertNew(units(), all.slice(i, i + 5000));
  },

  /**
   * Adds a plan's changes. Each document remembers the last plan applied to it, so applying plan `n`
   * again (after a crash) changes nothing where it was applied already. `existing` names documents known
   * to exist (they need no insert first); the documents made here are added to it.
   */
  async applyChanges(n: number, changes: AggregateChange[], existing = new Set<string>()): Promise<void> {
    if (changes.length === 0) return;
    const base = (c: AggregateChange) => ({ _id: c._id, experiment: c.experiment, variant: c.variant, metric: c.metric, ...(c.slice !== undefined ? { slice: c.slice } : {}), n: 0 });
    const unknown = changes.filter((c) => !existing.has(c._id));
    if (unknown.length > 0) {
      await insertNew(aggregates(), unknown.map((c) => ({ ...base(c), cohorts: {} })));
      await insertNew(totalsOf(), unknown.map((c) => ({ ...base(c), units: 0, sum: 0, sumSquares: 0, histogram: {} })));
      for (const c of unknown) existing.add(c._id);
    }
    const cohortOps: AnyBulkWriteOperation<CohortAggregateDocument>[] = [];
    const totalOps: AnyBulkWriteOperation<TotalsDocument>[] = [];
    for (const change of changes) {
      const inc: Record<string, number> = {};
      const total: CohortTotals = { units: 0, sum: 0, sumSquares: 0, histogram: {} };
      for (const [cohort, d] of Object.entries(change.cohorts)) {
        const at = `cohorts.${cohort}`;
        if (d.units) inc[`${at}.units`] = d.units;
        if (d.sum) inc[`${at}.sum`] = d.sum;
        if (d.sumSquares) inc[`${at}.sumSquares`] = d.sumSquares;
        for (const [score, count] of Object.entries(d.histogram)) if (count !== 0) inc[`${at}.histogram.${score}`] = count;
        // A cohort seen for the first time gets all its fields, so every reader finds numbers.
        for (const field of ['units', 'sum', 'sumSquares'] as const) inc[`${at}.${field}`] ??= 0;
        addTotals(total, d);
      }
      const totalInc: Record<string, number> = { units: total.units, sum: total.sum, sumSquares: total.sumSquares };
      for (const [score, count] of Object.entries(total.histogram)) if (count !== 0) totalInc[`histogram.${score}`] = count;
      // Each document remembers the last plan applied to it: applying plan n again changes nothing.
      cohortOps.push({ updateOne: { filter: { _id: change._id, n: { $lt: n } }, update: { $inc: inc, $set: { n } } } });
      totalOps.push({ updateOne: { filter: { _id: change._id, n: { $lt: n } }, update: { $inc: totalInc, $set: { n } } } });
    }
    const write = async <T extends { _id: string }>(collection: Collection<T>, ops: AnyBulkWriteOperation<T>[]) => {
      for (let i = 0; i < ops.length; i += BULK) await collection.bulkWrite(ops.slice(i, i + BULK), { ordered: false });
    };
    // The cohorts and the totals are separate documents, each idempotent on its own: written side by side.
    await Promise.all([write(aggregates(), cohortOps), write(totalsOf(), totalOps)]);
    await recordVersions(changes.map((c) => c.experiment), { $max: { p: n } });
  },

  /** Replaces everything counted for an experiment (a rebuild), stamped as of plan `n`. */
  async replaceExperiment(experiment: string, n: number, newUnits: UnitRecord[], changes: AggregateChange[]): Promise<void> {
    await units().deleteMany(unitsOfExperiment(experiment));
    await aggregates().deleteMany({ experiment });
    await totalsOf().deleteMany({ experiment });
    const stored = newUnits.map(toStoredUnit);
    for (let i = 0; i < stored.length; i += 5000) await insertNew(units(), stored.slice(i, i + 5000));
    const base = (c: AggregateChange) => ({ _id: c._id, experiment: c.experiment, variant: c.variant, metric: c.metric, ...(c.slice !== undefined ? { slice: c.slice } : {}), n });
    const docs: CohortAggregateDocument[] = changes.map((c) => ({ ...base(c), cohorts: c.cohorts }));
    const totalDocs: TotalsDocument[] = changes.map((c) => {
      const t: CohortTotals = { units: 0, sum: 0, sumSquares: 0, histogram: {} };
      for (const d of Object.values(c.cohorts)) addTotals(t, d);
      t.histogram = Object.fromEntries(Object.entries(t.histogram).filter(([, count]) => count !== 0));
      return { ...base(c), ...t };
    });
    for (let i = 0; i < docs.length; i += BULK) await insertNew(aggregates(), docs.slice(i, i + BULK));
    for (let i = 0; i < totalDocs.length; i += BULK) await insertNew(totalsOf(), totalDocs.slice(i, i + BULK));
    await recordVersions([experiment], { $inc: { r: 1 } });
  },
};
