// The metric library: definitions stored by key beside the built-in metrics, and the rules for changing
// them. A metric that a running or paused experiment uses keeps its definition (its results would change
// under the experiment); its name and description can always change.
import { AppError, NotFoundError } from '../../lib/errors';
import { metricDefinition, type LibraryMetricDefinition, type MetricDefinitionPatch } from '../../lib/metric-definition';
import { BUILT_IN_METRICS, listExperimentsUsingMetric, type ExperimentStatus } from '../experiments';
import type { MetricView } from './metrics.schemas';
import { metricsRepository, type StoredMetric } from './metrics.repository';

/** Experiments in these states freeze the definitions of the metrics they use. */
const FREEZING_STATUSES: readonly ExperimentStatus[] = ['running', 'paused'];
/** Experiments in these states still read their metrics' definitions (results, reports, rollout), so none of those may be deleted. */
const READING_STATUSES: readonly ExperimentStatus[] = ['running', 'paused', 'stopped', 'rolled_out'];

const SURVEY_DEFINITIONS: Record<string, { scale: { min: number; max: number }; topBox?: number[]; nps?: boolean }> = {
  csat: { scale: { min: 1, max: 5 }, topBox: [4, 5] },
  nps: { scale: { min: 0, max: 10 }, nps: true },
  ces: { scale: { min: 1, max: 7 } },
};

/** The built-in catalogue (src/modules/experiments/metric-catalogue.ts) as library definitions. */
const BUILT_INS: LibraryMetricDefinition[] = Object.values(BUILT_IN_METRICS).map((metric) => {
  const common = { key: metric.key, name: metric.label[0].toUpperCase() + metric.label.slice(1), description: metric.description, direction: metric.direction };
  if (metric.source === 'survey') return { ...common, kind: 'survey', ...(SURVEY_DEFINITIONS[metric.key] ?? { scale: metric.scale! }) };
  return { ...common, kind: 'proportion', event: metric.event!, match: 'any' };
});
const BUILT_IN_BY_KEY = new Map(BUILT_INS.map((metric) => [metric.key, metric]));

function builtInView(definition: LibraryMetricDefinition): MetricView {
  return { ...definition, builtIn: true };
}

function libraryView(stored: StoredMetric): MetricView {
  return { ...stored.definition, builtIn: false, createdAt: stored.createdAt, updatedAt: stored.updatedAt, createdBy: stored.createdBy };
}

function refuseBuiltIn(key: string, action: string): void {
  if (BUILT_IN_BY_KEY.has(key)) throw new AppError(409, 'built_in_metric', `"${key}" is a built-in metric: it cannot be ${action}`);
}

async function mustFind(key: string): Promise<StoredMetric> {
  const stored = await metricsRepository.findByKey(key);
  if (!stored) throw new NotFoundError(`metric "${key}"`);
  return stored;
}

/** JSON with sorted keys, so two definitions compare by content. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/** What decides the metric's figures: everything but its name and description. */
function measured(definition: LibraryMetricDefinition): string {
  const { name: _name, description: _description, ...rest } = definition;
  return canonical(rest);
}

/** A PATCH applied to a definition: null removes a field; a new kind starts from key, name, description and direction. */
function merge(current: LibraryMetricDefinition, patch: MetricDefinitionPatch): Record<string, unknown> {
  const start: [string, unknown][] = Object.entries(
    patch.kind !== undefined && patch.kind !== current.kind ? { key: current.key, name: current.name, description: current.description, direction: current.direction } : current,
  );
  const merged = new Map(start.filter(([, value]) => value !== undefined));
  for (const [field, value] of Object.entries(patch)) {
    if (value === null) merged.delete(field);
    else if (value !== undefined) merged.set(field, value);
  }
  return Object.fromEntries(merged);
}

async function usedBy(key: string, statuses: readonly ExperimentStatus[]): Promise<{ key: string; status: ExperimentStatus }[]> {
  return (await listExperimentsUsingMetric(key)).filter((experiment) => statuses.includes(experiment.status));
}

function inUse(key: string, action: string, experiments: { key: string; status: ExperimentStatus }[]): AppError {
  const names = experiments.map((e) => `${e.key} (${e.status})`).join(', ');
  return new AppError(409, 'metric_in_use', `metric "${key}" cannot ${action}: it is used by ${names}`, { experiments });
}

export const metricsService = {
  async create(input: LibraryMetricDefinition, actor: string): Promise<MetricView> {
    refuseBuiltIn(input.key, 'redefined; choose another key');
    const now = new Date();
    if (!(await metricsRepository.insert(input, actor, now))) throw new AppError(409, 'metric_exists', `a metric with key "${input.key}" exists already`);
    return { ...input, builtIn: false, createdAt: now, updatedAt: now, createdBy: actor };
  },

  /** The built-ins, then the library by key. */
  async list(): Promise<{ metrics: MetricView[] }> {
    const library = await metricsRepository.list();
    return { metrics: [...BUILT_INS.map(builtInView), ...library.map(libraryView)] };
  },

  async get(key: string): Promise<MetricView> {
    const builtIn = BUILT_IN_BY_KEY.get(key);
    if (builtIn) return builtInView(builtIn);
    return libraryView(await mustFind(key));
  },

  /** A metric's definition by key, built-in or from the library; null when there is none. */
  async getDefinition(key: string): Promise<LibraryMetricDefinition | null> {
    return BUILT_IN_BY_KEY.get(key) ?? (await metricsRepository.findByKey(key))?.definition ?? null;
  },

  async patch(key: string, patch: MetricDefinitionPatch): Promise<MetricView> {
    refuseBuiltIn(key, 'edited');
    const stored = await mustFind(key);
    const next = metricDefinition.parse(merge(stored.definition, patch));
    if (measured(next) !== measured(stored.definition)) {
      const experiments = await usedBy(key, FREEZING_STATUSES);
      if (experiments.length > 0) throw inUse(key, 'change its definition (only name and description can)', experiments);
    }
    const updated = await metricsRepository.replace(key, stored.version, next, new Date());
    if (!updated) throw new AppError(409, 'conflict', `metric "${key}" changed or was deleted while it was being edited; read it and try again`);
    return libraryView(updated);
  },

  async remove(key: string): Promise<void> {
    refuseBuiltIn(key, 'deleted');
    const stored = await mustFind(key);
    const experiments = await usedBy(key, READING_STATUSES);
    if (experiments.length > 0) throw inUse(key, 'be deleted', experiments);
    if (!(await metricsRepository.delete(key, stored.version))) throw new AppError(409, 'conflict', `metric "${key}" changed or was deleted meanwhile; read it and try again`);
  },
};
