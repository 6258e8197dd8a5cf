// The aggregator: the one place that turns stored raw records into units and aggregates. It runs as a
// continuous duty on the job runner, so one instance at a time does it (a lease in the database). Each
// cycle it takes the sealed batches (and takes over batches whose request died), reads their raw
// records, counts them with the one counting rule (countRecords) into a plan, stores the plan, applies
// it, and removes the batches. A crash anywhere re-applies the stored plan on the next start: every
// write of a plan is idempotent (documents remember the last plan applied to them). docs/counting.md.
import { LRUCache } from 'lru-cache';
import type { DutyContext } from '../../jobs/runner';
import { logger } from '../../lib/logger';
import { aggregatesRepository, packUnits, unpackUnits, type PackedUnit, type UnitRecord } from '../aggregates';
import { assignmentId, assignmentsRepository, type AssignmentRecord } from '../assignments';
import {
  COVARIATE_SUFFIX,
  countingRepository,
  countRecords,
  emptyChanges,
  SliceValues,
  onAppended,
  onReadWaiting,
  unitsTouched,
  type AggregateChange,
  type AssignmentFact,
  type CountedRecord,
  type ExperimentRules,
  type IngestBatchRecord,
  type IngestSealRecord,
  type RebuildRequestRecord,
  type StoredBatch,
} from '../counting';
import { eventsRepository } from '../events';
import { isoDurationToMs } from '../../lib/duration';
import { experimentsService, metricsByEvent, type ExperimentRecord } from '../experiments';

export interface AggregatorOptions {
  /** An unsealed batch older than this is taken over: its request died (or outlived any timeout). */
  graceMs: number;
  /** At most this many raw records per plan. */
  maxRecords: number;
  /** Pause between cycles when there is nothing to do (a local write or a waiting read wakes it). */
  idleMs: number;
}

interface Plan {
  n: number;
  batches: string[];
  created: UnitRecord[];
  changed: UnitRecord[];
  aggregates: AggregateChange[];
  taken: { _id: string; found: string[]; at: Date }[];
  /** Seal times of the batches, for the lag figures. */
  sealedAt: Date[];
  /** Segments: the kept values of the experiments whose lists grew in this plan (stored whole). */
  slices?: Record<string, Record<string, string[]>>;
  at: Date;
}

/** A plan as stored (savePlan): its units packed. */
type StoredPlan = Omit<Plan, 'created' | 'changed'> & { created: PackedUnit[]; changed: PackedUnit[] };

interface ReadyBatch {
  batch: IngestBatchRecord;
  seal: IngestSealRecord;
}

interface Raw { _id: string; b?: string }

/** Records counted between two turns of the event loop. */
const COUNT_SLICE = 2_000;

function rulesOf(experiment: ExperimentRecord): ExperimentRules {
  const lookbackMs = experiment.analysis.cuped ? isoDurationToMs(experiment.analysis.cuped.lookback) : null;
  const startedAt = experiment.startedAt ? new Date(experiment.startedAt).getTime() : Date.now();
  return {
    key: experiment._id,
    metricsByEvent: metricsByEvent(experiment.metrics),
    ...(experiment.stoppedAt ? { endsAt: new Date(experiment.stoppedAt) } : {}),
    ...(experiment.dimensions && experiment.dimensions.length > 0 ? { dimensions: experiment.dimensions } : {}),
    ...(lookbackMs ? { cuped: { lookbackMs, since: startedAt - lookbackMs } } : {}),
  };
}

async function readRaw(kind: IngestBatchRecord['kind'], ids: string[]): Promise<Map<string, Raw>> {
  if (kind === 'assignments') return assignmentsRepository.findStored(ids);
  if (kind === 'events') return eventsRepository.findEvents(ids);
  return eventsRepository.findResponses(ids);
}

function counted(kind: IngestBatchRecord['kind'], raw: Raw): CountedRecord {
  return { kind, record: raw } as unknown as CountedRecord;
}

/** The creation time of a batch, from its id (newBatchId). */
function openedAt(batch: string): number {
  return parseInt(batch.slice(0, batch.indexOf('-')), 36);
}

export class Aggregator {
  // The units this aggregator has read or written while it holds the lease (false: known not to exist).
  // An eviction ends what `fresh` may claim (see below).
  private readonly units = new LRUCache<string, UnitRecord | false>({
    max: 1_000_000,
    dispose: (_value, _key, reason) => {
      if (reason === 'evict') this.fresh.clear();
    },
  });
  // Customers (experiment:customer) whose first assignment was opened after this lease began and counted
  // by this aggregator: every unit of theirs was made by it, so one missing from `units` does not exist
  // (no read needed). Cleared on any eviction from `units` and on every rebuild.
  private readonly fresh = new Set<string>();
  private leaseStartedAt = 0;
  // Records this process stored for batches it sealed (counted without reading them back).
  // At most 200,000 records kept: beyond that, the oldest batches are read back from the database.
  private readonly local = new LRUCache<string, StoredBatch>({ max: 10_000, maxSize: 200_000, sizeCalculation: (b) => Math.max(1, b.records.length) });
  // Aggregate documents known to exist (made or seen by this aggregator under this lease): their plan
  // writes need no insert first. Cleared with the lease and by every rebuild, which replaces documents.
  private readonly existing = new Set<string>();
  // Segments: the values each dimension keeps, per experiment (loaded from the database once per lease).
  private slices = new SliceValues();
  // A read is waiting for the counts: the next plan starts at once instead of after the plan gap.
  private readWaiting = false;
  // The last cycle left sealed batches for the next one (it reached maxRecords).
  private backlogged = false;
  private applied = 0;
  private readonly lags: number[] = [];
  private wake: (() => void) | undefined;
  private readonly unsubscribe: (() => void)[] = [];

  constructor(private readonly options: AggregatorOptions) {
    this.unsubscribe.push(
      onAppended((stored) => {
        if (this.wake) {
          this.local.set(stored.batch, stored);
          this.wake();
        }
      }),
      onReadWaiting(() => {
        this.readWaiting = true;
        this.wake?.();
      }),
    );
  }

  /** Lag samples (ms from a batch's seal to its plan being applied) since the last call. */
  takeLags(): number[] {
    return this.lags.splice(0);
  }

  close(): void {
    for (const u of this.unsubscribe) u();
  }

  /** The continuous duty: recover, then count until stopped or the lease is lost. */
  async run(ctx: DutyContext): Promise<void> {
    this.wake = () => ctx.wake();
    this.units.clear();
    this.fresh.clear();
    this.local.clear();
    this.existing.clear();
    this.slices = new SliceValues();
    // A margin for clocks and for the previous holder's last moments.
    this.leaseStartedAt = Date.now() + 2_000;
    await this.recover();
    while (!ctx.signal.aborted && ctx.holds()) {
      let worked: boolean;
      const started = Date.now();
      this.readWaiting = false;
      try {
        worked = await this.cycle(ctx);
      } catch (error) {
        logger.error({ err: error }, 'aggregator cycle failed; retrying');
        this.units.clear();
        this.fresh.clear();
        this.existing.clear();
        this.slices = new SliceValues();
        await this.recover().catch(() => undefined);
        await ctx.sleep(500);
        continue;
      }
      if (!worked) await ctx.sleep(this.options.idleMs);
      // Plans start at most one per idleMs while records keep arriving (a plan's cost is mostly per plan,
      // not per record), unless a read is waiting for the counts or a full plan's worth is waiting.
      else if (!this.backlogged) {
        const until = started + this.options.idleMs;
        while (Date.now() < until && !this.readWaiting && !ctx.signal.aborted) await ctx.sleep(until - Date.now());
      }
    }
    this.wake = undefined;
    this.local.clear();
  }

  /**
   * Applies the stored plan again: its writes may not all have been applied (a crash mid-plan), and
   * applying the last plan again changes nothing where it was. Progress is recorded only before work
   * that is not a plan (a rebuild), so a plan is not applied again over that work.
   */
  async recover(): Promise<void> {
    const moved = await countingRepository.moveLegacyEntries();
    if (moved > 0) logger.info({ entries: moved }, 'aggregator: moved the batches an earlier version left into the ingest log');
    const [progress, stored] = await Promise.all([countingRepository.readProgress(), countingRepository.readPlan<StoredPlan>()]);
    const plan = stored ? { ...stored, created: unpackUnits(stored.created), changed: unpackUnits(stored.changed) } : null;
    this.applied = Math.max(progress.applied, plan?.n ?? 0);
    if (!progress.started) await this.adoptEarlierCounts();
    if (plan && plan.n > progress.applied) {
      logger.info({ plan: plan.n, batches: plan.batches.length }, 'aggregator: applying the last plan again');
      await this.apply(plan);
    }
  }

  /**
   * The first start of the counting engine on a database that has experiments already (counted by an
   * earlier version, in other collections): each is rebuilt from its raw records, once.
   */
  private async adoptEarlierCounts(): Promise<void> {
    const experiments = await experimentsService.listCountedFresh();
    for (const experiment of experiments) await countingRepository.requestRebuild(experiment._id, `upgrade-${experiment._id}`);
    await countingRepository.saveProgress(0, new Date());
    if (experiments.length > 0) logger.info({ experiments: experiments.length }, 'aggregator: first start on this database; rebuilding the experiments counted before');
  }

  /** One cycle; false when there was nothing to do. */
  async cycle(ctx: DutyContext): Promise<boolean> {
    const started = new Date();
    const rebuilds = await countingRepository.pendingRebuilds();
    for (const request of rebuilds) {
      if (!ctx.holds()) return true;
      await this.rebuild(request);
    }
    const ready = await this.readyBatches(ctx, started);
    if (ready.length === 0) return rebuilds.length > 0;
    // The runner renews the lease in the background; holds() leaves a third of it as a margin, and the
    // plan's compare-and-set stops an aggregator that lost it anyway.
    if (!ctx.holds()) return true;
    const plan = await this.plan(ready, started);
    // The units go in their stored form: the plan is written whole before it is applied, every plan.
    const stored: StoredPlan = { ...plan, created: packUnits(plan.created), changed: packUnits(plan.changed) };
    if (!(await countingRepository.savePlan(stored))) {
      logger.warn({ plan: plan.n }, 'aggregator: another aggregator stored this plan first; taking up its plan instead');
      this.units.clear();
      this.fresh.clear();
      this.existing.clear();
      this.slices = new SliceValues();
      await this.recover();
      return true;
    }
    await this.apply(plan);
    return true;
  }

  /** Sealed batches in creation order (taking over expired open ones), up to maxRecords records. */
  private async readyBatches(ctx: DutyContext, now: Date): Promise<ReadyBatch[]> {
    // One snapshot of the log: a request opens its batch before it seals it, so every seal has its
    // batch listed too unless the batch was counted already (then the seal is stale).
    const log = await countingRepository.listLog();
    const seals = new Map(log.seals.map((s) => [s._id, s]));
    const batches = log.batches.sort((a, b) => (a._id < b._id ? -1 : 1));
    const known = new Set(batches.map((b) => b._id));
    const stale = [...seals.keys()].filter((id) => !known.has(id));
    if (stale.length > 0) await countingRepository.removeBatches(stale);
    const ready: ReadyBatch[] = [];
    let records = 0;
    this.backlogged = false;
    for (const batch of batches) {
      let seal = seals.get(batch._id);
      if (!seal && now.getTime() - batch.createdAt.getTime() >= this.options.graceMs && ctx.holds()) {
        const claim: IngestSealRecord = { _id: batch._id, dups: [], n: 0, takeover: true, at: new Date() };
        if (await countingRepository.sealBatch(claim)) {
          logger.warn({ batch: batch._id, kind: batch.kind }, 'aggregator: taking over a batch whose request did not finish');
          seal = claim;
        } else {
          seal = (await countingRepository.findSeal(batch._id)) ?? undefined;
        }
      }
      if (!seal) continue;
      ready.push({ batch, seal });
      records += batch.ids.length;
      if (records >= this.options.maxRecords) {
        this.backlogged = true;
        break;
      }
    }
    return ready;
  }

  private async plan(ready: ReadyBatch[], at: Date): Promise<Plan> {
    // 1. The raw records each batch stored.
    const taken = new Map<string, Set<string>>();
    const adopted = ready.map((r) => r.batch.adopt).filter((a): a is string => a !== undefined);
    const takenBefore = adopted.length > 0 ? await countingRepository.takenAmong(adopted) : new Map<string, never>();
    const records: CountedRecord[] = [];
    const byKind = { assignments: [] as CountedRecord[], other: [] as CountedRecord[] };
    for (const { batch, seal } of ready) {
      const owner = batch.adopt ?? batch._id;
      const dups = new Set(seal.dups);
      const ids = seal.takeover || batch.adopt ? batch.ids : batch.ids.filter((id) => !dups.has(id));
      const mine = !seal.takeover && !batch.adopt ? this.local.get(batch._id) : undefined;
      const raw = mine ? new Map(mine.records.map((r) => [r._id, r as Raw])) : await readRaw(batch.kind, ids);
      if (mine) this.local.delete(batch._id);
      const skip = batch.adopt ? (taken.get(batch.adopt) ?? new Set(takenBefore.get(batch.adopt)?.found ?? [])) : new Set<string>();
      const found: string[] = [];
      for (const id of ids) {
        const record = raw.get(id);
        // A record counts for the batch that stored it (b), once: a duplicate kept the earlier batch's.
        if (!record || record.b !== owner || skip.has(id)) continue;
        found.push(id);
        (batch.kind === 'assignments' ? byKind.assignments : byKind.other).push(counted(batch.kind, record));
      }
      if (seal.takeover) taken.set(batch._id, new Set(found));
    }
    records.push(...byKind.assignments, ...byKind.other);

    // 2. What counting them reads: the experiments, the customers' assignments, the units.
    const experiments = (await experimentsService.listCountedFresh()).map(rulesOf);
    const assignments = new Map<string, AssignmentFact>();
    for (const item of byKind.assignments) assignments.set(item.record._id, item.record as AssignmentFact);
    const wanted = new Set<string>();
    for (const item of byKind.other) {
      const r = item.record as { customerId: string; experiment?: string };
      for (const e of experiments) if (r.experiment === undefined || r.experiment === e.key) wanted.add(assignmentId(e.key, r.customerId));
    }
    for (const id of assignments.keys()) wanted.delete(id);
    // findMany answers from the process's cache of stored assignments first (they never change).
    for (const [id, a] of await assignmentsRepository.findMany([...wanted])) assignments.set(id, a);
    const lookupAssignment = (experiment: string, customerId: string) => assignments.get(assignmentId(experiment, customerId));
    const touched = unitsTouched({ experiments, assignment: lookupAssignment }, byKind.other);
    // First assignments (stored by their batch, so never assigned before) opened after this lease began.
    const freshlyAssigned = new Set<string>();
    for (const item of byKind.assignments) {
      const b = (item.record as Raw).b;
      if (b !== undefined && openedAt(b) > this.leaseStartedAt) freshlyAssigned.add(item.record._id);
    }
    if (this.fresh.size > 5_000_000) this.fresh.clear();
    const known = (unit: string) => {
      if (this.units.has(unit)) return true;
      const [experiment, metric = '', ...customer] = unit.split('|');
      // A covariate unit holds events from before the assignment: it may predate this lease.
      if (metric.endsWith(COVARIATE_SUFFIX)) return false;
      const key = assignmentId(experiment, customer.join('|'));
      return this.fresh.has(key) || freshlyAssigned.has(key);
    };
    const missing = [...touched].filter((id) => !known(id));
    if (missing.length > 0) {
      const stored = await aggregatesRepository.findUnits(missing);
      for (const id of missing) this.units.set(id, stored.get(id) ?? false);
    }

    // 3. The one counting rule.
    // Counted in slices, letting the event loop serve requests between them: counting tens of thousands
    // of records at once would hold every request of this process meanwhile. The same changes carry
    // over from slice to slice, so the result is that of one call.
    const sliced = experiments.filter((e) => e.dimensions && !this.slices.has(e.key)).map((e) => e.key);
    for (const [experiment, values] of await countingRepository.readSliceValues(sliced)) this.slices.load(experiment, values);
    for (const experiment of sliced) if (!this.slices.has(experiment)) this.slices.load(experiment, {});
    this.slices.changed.clear();
    const lookups = { experiments, assignment: lookupAssignment, unit: (id: string) => this.units.get(id) || null, slices: this.slices };
    const changes = emptyChanges();
    for (let i = 0; i < records.length; i += COUNT_SLICE) {
      if (i > 0) await new Promise((resolve) => setImmediate(resolve));
      countRecords(lookups, records.slice(i, i + COUNT_SLICE), changes);
    }
    // Customers first assigned in this plan: only this aggregator will ever have made their units.
    for (const item of byKind.assignments) if (freshlyAssigned.has(item.record._id)) this.fresh.add(item.record._id);
    const created: UnitRecord[] = [];
    const changed: UnitRecord[] = [];
    for (const [id, unit] of changes.units) (changes.created.has(id) ? created : changed).push(unit);
    return {
      n: this.applied + 1,
      batches: ready.map((r) => r.batch._id),
      created,
      changed,
      aggregates: [...changes.aggregates.values()],
      taken: [...taken].map(([id, found]) => ({ _id: id, found: [...found], at })),
      sealedAt: ready.map((r) => r.seal.at),
      ...(this.slices.changed.size > 0 ? { slices: Object.fromEntries([...this.slices.changed].map((e) => [e, this.slices.snapshot(e)])) } : {}),
      at,
    };
  }

  /** Applies a plan; every step may be repeated (a crash mid-way re-applies the whole plan). */
  private async apply(plan: Plan): Promise<void> {
    // Units and aggregates are written side by side (each write is idempotent on its own); the batches go
    // only once both are done.
    await Promise.all([
      aggregatesRepository.saveUnits(plan.created, plan.changed),
      aggregatesRepository.applyChanges(plan.n, plan.aggregates, this.existing),
      plan.slices ? countingRepository.saveSliceValues(plan.slices) : Promise.resolve(),
    ]);
    if (plan.taken.length > 0) await countingRepository.recordTaken(plan.taken);
    await countingRepository.removeBatches(plan.batches);
    // No progress write: the next plan's compare-and-set replaces this one only once it is applied, and
    // recover() applies the last stored plan again (a no-op where it was applied).
    this.applied = plan.n;
    for (const unit of [...plan.created, ...plan.changed]) this.units.set(unit._id, unit);
    const now = Date.now();
    for (const sealed of plan.sealedAt) this.lags.push(now - new Date(sealed).getTime());
    if (this.lags.length > 100_000) this.lags.splice(0, this.lags.length - 100_000);
  }

  /**
   * Rebuilds one experiment's units and aggregates from its raw records, while ingestion goes on. It
   * runs between plans, so nothing is counted meanwhile; raw records of batches still waiting (listed
   * after the scan: a request opens its batch before it stores records) are left to their batch.
   */
  private async rebuild(request: RebuildRequestRecord): Promise<void> {
    const key = request.experiment;
    try {
      const experiment = await experimentsService.getRecord(key);
      const assignments: (AssignmentRecord & { b?: string })[] = [];
      for await (const a of assignmentsRepository.cursorForExperiment(key)) assignments.push(a);
      const events: Raw[] = [];
      for await (const e of eventsRepository.eventsCursor(key)) events.push(e);
      const responses: (Raw & { receivedAt?: Date })[] = [];
      for await (const r of eventsRepository.responsesCursor(key)) responses.push(r);
      const waiting = (await countingRepository.listLog()).batches;
      const open = new Set(waiting.map((b) => b._id));
      const adoptedIds = new Map<string, Set<string>>();
      for (const b of waiting) if (b.adopt) adoptedIds.set(b.adopt, new Set([...(adoptedIds.get(b.adopt) ?? []), ...b.ids]));
      const settled = (r: Raw) => r.b === undefined || (!open.has(r.b) && !adoptedIds.get(r.b)?.has(r._id));

      const byId = new Map<string, AssignmentFact>(assignments.map((a) => [a._id, a]));
      const records: CountedRecord[] = [
        ...assignments.filter(settled).map((a) => counted('assignments', a)),
        ...events.filter(settled).map((e) => counted('events', e)),
        ...responses.filter(settled).map((r) => counted('responses', r)),
      ];
      const slices = new SliceValues();
      const changes = countRecords({ experiments: [rulesOf(experiment)], assignment: (e, c) => byId.get(assignmentId(e, c)), unit: () => null, slices }, records, emptyChanges());
      this.existing.clear();
      // Every plan so far is applied (rebuilds run between plans): say so before replacing anything, so
      // that a restart does not apply the last plan again over what the rebuild writes.
      await countingRepository.saveProgress(this.applied, new Date());
      await aggregatesRepository.replaceExperiment(key, this.applied, [...changes.units.values()], [...changes.aggregates.values()]);
      await countingRepository.saveSliceValues({ [key]: slices.snapshot(key) });
      this.slices = new SliceValues();
      this.units.clear();
      this.fresh.clear();
      const assigned = records.filter((r) => r.kind === 'assignments').length;
      await countingRepository.finishRebuild(key, request.requestId, { result: { assigned, units: changes.units.size, aggregates: changes.aggregates.size } });
    } catch (error) {
      logger.warn({ err: error, experiment: key }, 'aggregator: rebuild failed');
      await countingRepository.finishRebuild(key, request.requestId, { error: (error as Error).message });
    }
  }
}
