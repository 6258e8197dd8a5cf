import { ConflictError, NotFoundError } from '../../lib/errors';
import type { LibraryMetricDefinition } from '../../lib/metric-definition';
import { countSmsSegments, type SmsSegmentCount } from '../../lib/sms-segments';
import { changesService } from '../changes';
import { countingRepository } from '../counting';
import type { ExperimentRecord, HistoryEntry } from './experiments.model';
import { experimentsRepository } from './experiments.repository';
import {
  analysisSpec,
  checkExperiment,
  libraryMetricKeys,
  type CreateExperimentInput,
  type ExperimentStatus,
  type PatchExperimentInput,
} from './experiments.schemas';
import { z } from 'zod';

export type Experiment = Omit<ExperimentRecord, '_id' | 'history' | 'sequential' | 'lastLookAt' | 'variants'> & { key: string; variants: (ExperimentRecord['variants'][number] & { sms?: SmsSegmentCount })[] };

export function toExperiment(record: ExperimentRecord): Experiment {
  const { _id, history: _history, sequential: _sequential, lastLookAt: _lastLookAt, ...rest } = record;
  if (record.assetType !== 'sms') return { key: _id, ...rest };
  // SMS are priced by segment: each variant's text shows its encoding and segment count.
  const variants = record.variants.map((variant) => (typeof variant.content.text === 'string' ? { ...variant, sms: countSmsSegments(variant.content.text) } : variant));
  return { key: _id, ...rest, variants };
}

/** Finds a metric of the library by key (the metrics module, given by the composition root: it imports this one). */
export type LibraryMetricLookup = (key: string) => Promise<LibraryMetricDefinition | null>;
let lookupLibraryMetric: LibraryMetricLookup = () => Promise.resolve(null);
export function registerMetricLibrary(lookup: LibraryMetricLookup): void {
  lookupLibraryMetric = lookup;
}

/**
 * The library definitions of the metrics an experiment names that are neither built in nor custom, as
 * they are now (stored with the experiment; a metric in use by a running experiment cannot change).
 * An unknown key is a 400 naming where it was named.
 */
async function libraryMetricsOf(metrics: ExperimentRecord['metrics']): Promise<LibraryMetricDefinition[]> {
  const found = new Map<string, LibraryMetricDefinition>();
  const issues: z.core.$ZodIssue[] = [];
  for (const { key, path } of libraryMetricKeys(metrics)) {
    if (found.has(key)) continue;
    const definition = await lookupLibraryMetric(key);
    if (definition) found.set(key, definition);
    else issues.push({ code: 'custom', path, input: key, message: `unknown metric "${key}": not built in, not in the metric library (POST /v1/metrics), and not under metrics.custom` });
  }
  if (issues.length > 0) throw new z.ZodError(issues);
  return [...found.values()];
}

async function withLibrary(metrics: ExperimentRecord['metrics']): Promise<ExperimentRecord['metrics']> {
  const { library: _old, ...rest } = metrics;
  const library = await libraryMetricsOf(rest);
  return library.length > 0 ? { ...rest, library } : rest;
}

/** Lifecycle: which states each action may start from, and where it leads. */
export const TRANSITIONS = {
  start: { from: ['draft'], to: 'running' },
  pause: { from: ['running'], to: 'paused' },
  resume: { from: ['paused'], to: 'running' },
  stop: { from: ['running', 'paused'], to: 'stopped' },
} as const satisfies Record<string, { from: ExperimentStatus[]; to: ExperimentStatus }>;
export type TransitionAction = keyof typeof TRANSITIONS;

/** Fields a running (or later) experiment may still change: nothing that moves customers between variants. */
const FIELDS_EDITABLE_AFTER_START = new Set(['name', 'hypothesis', 'metrics', 'analysis', 'survey']);

// Hot paths (assignment, events) read experiments through a cache. A change made by this process
// invalidates it at once and is counted in the change counter, which every instance follows (the changes
// module): other instances drop their caches within CHANGES_POLL_MS. The TTL is only the safety net
// for a change whose count was lost.
const CACHE_TTL_MS = 30_000;
const cache = new Map<string, { record: ExperimentRecord | null; expires: number }>();
let activeCache: { records: ExperimentRecord[]; expires: number } | undefined;

// Bumped by every local change: a read that started before a change must not refill the cache with
// what it read (it would hide the change, e.g. a just-started experiment, for a whole TTL).
let generation = 0;

/** After a change is written: this process's cache at once, the other instances' through the counter. */
async function afterChange(key: string): Promise<void> {
  generation++;
  cache.delete(key);
  activeCache = undefined;
  await changesService.recordChange('experiments');
}

async function mustFind(key: string): Promise<ExperimentRecord> {
  const record = await experimentsRepository.findByKey(key);
  if (!record) throw new NotFoundError(`experiment "${key}"`);
  return record;
}

function entry(action: string, actor: string, details?: Record<string, unknown>): HistoryEntry {
  return { at: new Date(), action, actor, ...(details ? { details } : {}) };
}

/**
 * The experiments (key and status) that name a metric in metrics.primary, secondary or guardrails, in
 * any status, by key. Only reads: the metric library asks it before a metric's definition changes.
 */
export async function listExperimentsUsingMetric(metricKey: string): Promise<{ key: string; status: ExperimentStatus }[]> {
  return experimentsRepository.listNamingMetric(metricKey);
}

export const experimentsService = {
  async create(input: CreateExperimentInput, actor: string): Promise<Experiment> {
    const now = new Date();
    const record: ExperimentRecord = {
      _id: input.key,
      name: input.name,
      ...(input.hypothesis !== undefined ? { hypothesis: input.hypothesis } : {}),
      assetType: input.assetType,
      variants: input.variants.map((v) => ({ key: v.key, ...(v.name ? { name: v.name } : {}), weight: v.weight, content: v.content })),
      controlVariant: input.controlVariant ?? input.variants[0].key,
      coverage: input.coverage,
      seed: input.seed ?? input.key,
      ...(input.targeting ? { targeting: input.targeting } : {}),
      metrics: await withLibrary(input.metrics),
      analysis: input.analysis,
      ...(input.dimensions && input.dimensions.length > 0 ? { dimensions: input.dimensions } : {}),
      ...(input.survey ? { survey: input.survey } : {}),
      status: 'draft',
      history: [entry('created', actor)],
      createdAt: now,
      updatedAt: now,
    };
    try {
      await experimentsRepository.insert(record);
    } catch (error) {
      if ((error as { code?: number }).code === 11000) throw new ConflictError(`an experiment with key "${input.key}" already exists`);
      throw error;
    }
    await afterChange(input.key);
    return toExperiment(record);
  },

  async get(key: string): Promise<Experiment> {
    return toExperiment(await mustFind(key));
  },

  async getRecord(key: string): Promise<ExperimentRecord> {
    return mustFind(key);
  },

  /** Forgets every cached experiment (another instance changed one). */
  dropCached(): void {
    generation++;
    cache.clear();
    activeCache = undefined;
  },

  /** Cached read for hot paths; throws 404 for unknown keys. */
  async getCached(key: string): Promise<ExperimentRecord> {
    const now = Date.now();
    const hit = cache.get(key);
    if (hit && hit.expires > now) {
      if (!hit.record) throw new NotFoundError(`experiment "${key}"`);
      return hit.record;
    }
    const readAt = generation;
    const record = await experimentsRepository.findByKey(key);
    if (readAt === generation) cache.set(key, { record, expires: now + CACHE_TTL_MS });
    if (!record) throw new NotFoundError(`experiment "${key}"`);
    return record;
  },

  /** Experiments that can have assigned customers, whose events and answers must be counted. */
  async listWithAssignments(): Promise<ExperimentRecord[]> {
    const now = Date.now();
    if (activeCache && activeCache.expires > now) return activeCache.records;
    const readAt = generation;
    const records = await experimentsRepository.listByStatus(['running', 'paused', 'stopped', 'rolled_out']);
    if (readAt === generation) activeCache = { records, expires: now + CACHE_TTL_MS };
    return records;
  },

  /** The scale of a survey metric of the library (null: no such metric, or not a survey). */
  async surveyScaleOf(key: string): Promise<{ min: number; max: number } | null> {
    const definition = await lookupLibraryMetric(key);
    return definition?.kind === 'survey' ? definition.scale : null;
  },

  /** The same list read from the database now (the aggregator must not miss an experiment just started). */
  async listCountedFresh(): Promise<ExperimentRecord[]> {
    return experimentsRepository.listByStatus(['running', 'paused', 'stopped', 'rolled_out']);
  },

  /**
   * When an experiment of this asset type last changed, archived ones included, read now: it only moves
   * forward (running experiments are archived, never deleted), so it versions anything derived from them.
   */
  async lastUpdatedAt(assetType: 'email' | 'page'): Promise<Date | null> {
    return experimentsRepository.lastUpdatedAt(assetType);
  },

  async list(query: { status?: ExperimentStatus; assetType?: 'email' | 'page' | 'sms'; limit: number; offset: number }) {
    const { items, total } = await experimentsRepository.list(query, query.limit, query.offset);
    return { experiments: items.map(toExperiment), total, limit: query.limit, offset: query.offset };
  },

  async patch(key: string, input: PatchExperimentInput, actor: string): Promise<Experiment> {
    const current = await mustFind(key);
    const changed = Object.keys(input);
    if (current.status !== 'draft') {
      // Coverage may grow (a ramp-up): GrowthBook's ranges only widen, so nobody changes variant.
      const coverageGrows = input.coverage !== undefined && input.coverage >= current.coverage;
      const refused = changed.filter((field) => !FIELDS_EDITABLE_AFTER_START.has(field) && !(field === 'coverage' && coverageGrows));
      // CUPED's covariates are counted from the start (and from the events before it): fixed once started.
      if (input.analysis && 'cuped' in input.analysis && JSON.stringify(input.analysis.cuped ?? null) !== JSON.stringify(current.analysis.cuped ?? null)) refused.push('analysis.cuped');
      if (refused.length > 0) {
        const coverageNote = refused.includes('coverage') ? ` (coverage may only grow, from ${current.coverage})` : '';
        throw new ConflictError(
          `experiment "${key}" is ${current.status}: ${refused.join(', ')} cannot change once it has started${coverageNote}, because that would move customers between variants or out of the experiment and bias the results; create a new experiment instead`,
          { refused, editable: [...FIELDS_EDITABLE_AFTER_START, 'coverage (growth only)'] },
        );
      }
    }
    const merged = {
      assetType: input.assetType ?? current.assetType,
      variants: input.variants ?? current.variants,
      controlVariant: input.controlVariant ?? (input.variants ? (input.variants.some((v) => v.key === current.controlVariant) ? current.controlVariant : input.variants[0].key) : current.controlVariant),
      metrics: input.metrics ?? current.metrics,
    };
    z.any().superRefine((_, ctx) => checkExperiment(merged, ctx)).parse(merged);
    const set: Partial<ExperimentRecord> = {};
    if (input.name !== undefined) set.name = input.name;
    if (input.hypothesis !== undefined) set.hypothesis = input.hypothesis;
    if (input.assetType !== undefined) set.assetType = input.assetType;
    if (input.variants !== undefined) set.variants = input.variants;
    set.controlVariant = merged.controlVariant;
    if (input.coverage !== undefined) set.coverage = input.coverage;
    if (input.seed !== undefined) set.seed = input.seed;
    if (input.metrics !== undefined) set.metrics = await withLibrary(input.metrics);
    if (input.analysis !== undefined) set.analysis = analysisSpec.parse({ ...current.analysis, ...input.analysis });
    if (input.dimensions !== undefined) set.dimensions = input.dimensions;
    const unset = [...(input.targeting === null ? ['targeting'] : []), ...(input.survey === null ? ['survey'] : [])];
    if (input.targeting) set.targeting = input.targeting;
    if (input.survey) set.survey = input.survey;
    const updated = await experimentsRepository.update(key, [current.status], set, entry('updated', actor, { fields: changed }), unset);
    if (!updated) throw new ConflictError(`experiment "${key}" changed state while it was being edited; try again`);
    await afterChange(key);
    return toExperiment(updated);
  },

  /** `startedAt` (start only): when it really started, for an experiment that ran elsewhere (default now). */
  async transition(key: string, action: TransitionAction, actor: string, startedAt?: Date): Promise<Experiment> {
    const { from, to } = TRANSITIONS[action];
    const current = await mustFind(key);
    if (!(from as readonly ExperimentStatus[]).includes(current.status)) {
      throw new ConflictError(`cannot ${action} experiment "${key}": it is ${current.status} (${action} needs ${from.join(' or ')})`);
    }
    const set: Partial<ExperimentRecord> = { status: to };
    if (action === 'start') {
      set.startedAt = startedAt ?? new Date();
      // The library metrics as they are at the start: from now on they cannot change (the metrics module refuses).
      set.metrics = await withLibrary(current.metrics);
    }
    if (action === 'stop') set.stoppedAt = new Date();
    const updated = await experimentsRepository.update(key, [...from], set, entry(action, actor));
    if (!updated) throw new ConflictError(`experiment "${key}" changed state meanwhile; try again`);
    // CUPED's covariates come from the events before each assignment, stored before the start too: the
    // aggregator counts the experiment once from the raw records (docs/metrics.md, CUPED).
    if (action === 'start' && updated.analysis.cuped) await countingRepository.requestRebuild(key, `start-${key}-${Date.now()}`);
    await afterChange(key);
    return toExperiment(updated);
  },

  /** Moves an experiment between any two states under a compare-and-set; used by rollout and rollback. */
  async setStatus(
    key: string,
    from: ExperimentStatus[],
    to: ExperimentStatus,
    actor: string,
    action: string,
    extra: { set?: Partial<ExperimentRecord>; unset?: string[]; details?: Record<string, unknown> } = {},
  ): Promise<Experiment> {
    const updated = await experimentsRepository.update(key, from, { ...extra.set, status: to }, entry(action, actor, extra.details), extra.unset);
    if (!updated) {
      const current = await mustFind(key);
      throw new ConflictError(`cannot ${action} experiment "${key}": it is ${current.status}`);
    }
    await afterChange(key);
    return toExperiment(updated);
  },

  async history(key: string): Promise<HistoryEntry[]> {
    return (await mustFind(key)).history;
  },

  /** Lowers the stored running minima of always-valid p-values ("metric|variant"); never raises one. */
  async recordSequentialMinima(key: string, values: Record<string, number>): Promise<void> {
    await experimentsRepository.applySequentialMinima(key, values);
  },

  /** Stores a metric's tuned mixing variance ("metric|~tau2") unless one is stored; false when another look stored it first. */
  async recordSequentialTau2(key: string, field: string, value: number): Promise<boolean> {
    return experimentsRepository.setSequentialIfAbsent(key, field, value);
  },

  /** Claims the scheduled look (compare-and-set on lastLookAt); true for exactly one of concurrent callers. */
  async claimLook(key: string, statuses: ExperimentStatus[], now: Date, intervalMs: number): Promise<boolean> {
    return experimentsRepository.claimLook(key, statuses, now, intervalMs);
  },

  /** Records that a look was taken at `at` (lastLookAt only moves forward). */
  async recordLookTime(key: string, at: Date): Promise<void> {
    await experimentsRepository.advanceLastLook(key, at);
  },

  /** Drafts are deleted; anything that has run is archived, so its assignments and events stay explainable. */
  async remove(key: string, actor: string): Promise<{ deleted: boolean; experiment?: Experiment }> {
    const current = await mustFind(key);
    if (current.status === 'draft') {
      if (await experimentsRepository.deleteDraft(key)) {
        await afterChange(key);
        return { deleted: true };
      }
      throw new ConflictError(`experiment "${key}" changed state meanwhile; try again`);
    }
    if (current.status === 'archived') return { deleted: false, experiment: toExperiment(current) };
    const experiment = await this.setStatus(key, [current.status], 'archived', actor, 'archived', { details: { previousStatus: current.status } });
    return { deleted: false, experiment };
  },
};
