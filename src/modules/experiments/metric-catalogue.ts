// The built-in CX metrics and how custom and library metrics join them. Pure: no I/O.
import type { LibraryMetricDefinition } from '../../lib/metric-definition';
import { parseMetricWindow } from '../../stats/windows';

export type MetricKind = 'binomial' | 'mean' | 'nps' | 'ordinal' | 'ratio' | 'quantile';

/** How one event feeds a metric (the counting rule's MetricRule, src/modules/counting/counting.rules.ts). */
export interface MetricFeed {
  event: string;
  filter?: Record<string, unknown>;
  window?: { delayMs: number; durationMs: number | null };
  value?: 'count' | 'value' | `properties.${string}`;
  side?: 'numerator' | 'denominator';
  cap?: number;
  sketchTotals?: boolean;
}
export type Direction = 'increase' | 'decrease';

export interface MetricDefinition {
  key: string;
  kind: MetricKind;
  direction: Direction;
  /** 'event': counted from POST /v1/events by event name; 'survey': from POST /v1/responses. */
  source: 'event' | 'survey';
  event?: string;
  /** Survey scale, inclusive. */
  scale?: { min: number; max: number };
  /** How people read its name in a sentence: "email open rate", "CSAT score". */
  label: string;
  description: string;
  /** Library definitions (and custom entries written like them): how events feed it; absent: by `event` alone. */
  feeds?: MetricFeed[];
  /** Proportion: "none" reads the share of customers without a matching event (churn). */
  match?: 'any' | 'none';
  /** Windowed metrics count only customers whose window has ended by the analysis end (maturity). */
  window?: { delayMs: number; durationMs: number | null };
  capping?: { type: 'absolute' | 'percentile'; value: number };
  /** Quantile metrics: which quantile (0.5 = median). */
  quantile?: number;
  /** Survey metrics of the library: the scores that count as satisfied. */
  topBox?: number[];
  /** What one value means, for the report: "hours", "per ticket". */
  unit?: string;
}

/** A custom metric of one experiment: the short form (binomial or mean on an event), or a full library definition. */
export type CustomMetric = { key: string; kind: 'binomial' | 'mean'; event: string; direction: Direction } | LibraryMetricDefinition;

/** Whether a custom metric is written in the short form. */
function isShortForm(metric: CustomMetric): metric is { key: string; kind: 'binomial' | 'mean'; event: string; direction: Direction } {
  return (metric.kind === 'binomial' || metric.kind === 'mean') && !('name' in metric);
}

/** A library definition as the analysis and the counting rule read it. */
export function definitionFromLibrary(metric: LibraryMetricDefinition): MetricDefinition {
  const base = { key: metric.key, direction: metric.direction, label: metric.name, description: metric.description ?? metric.name };
  const window = 'window' in metric && metric.window ? parseMetricWindow(metric.window) : undefined;
  const windowed = window ? { window } : {};
  switch (metric.kind) {
    case 'proportion':
      return { ...base, kind: 'binomial', source: 'event', event: metric.event, match: metric.match, ...windowed, feeds: [{ event: metric.event, ...(metric.filter ? { filter: metric.filter } : {}), ...windowed }] };
    case 'mean': {
      const capping = metric.capping ? { capping: metric.capping } : {};
      const cap = metric.capping?.type === 'absolute' ? { cap: metric.capping.value } : {};
      const sketch = metric.capping?.type === 'percentile' ? { sketchTotals: true } : {};
      return { ...base, kind: 'mean', source: 'event', event: metric.event, ...windowed, ...capping, feeds: [{ event: metric.event, ...(metric.filter ? { filter: metric.filter } : {}), ...windowed, value: metric.value as MetricFeed['value'], ...cap, ...sketch }] };
    }
    case 'ratio':
      return {
        ...base,
        kind: 'ratio',
        source: 'event',
        ...windowed,
        feeds: (['numerator', 'denominator'] as const).map((side) => {
          const part = metric[side];
          return { event: part.event, ...(part.filter ? { filter: part.filter } : {}), ...windowed, value: part.value as MetricFeed['value'], side };
        }),
      };
    case 'quantile':
      return { ...base, kind: 'quantile', source: 'event', event: metric.event, quantile: metric.quantile, ...windowed, feeds: [{ event: metric.event, ...(metric.filter ? { filter: metric.filter } : {}), ...windowed, value: metric.value as MetricFeed['value'] }] };
    case 'survey':
      return { ...base, kind: metric.nps ? 'nps' : 'ordinal', source: 'survey', scale: metric.scale, ...(metric.topBox ? { topBox: metric.topBox } : {}) };
  }
}

export const SURVEY_METRICS = ['csat', 'nps', 'ces'] as const;
export type SurveyMetric = (typeof SURVEY_METRICS)[number];

export const BUILT_IN_METRICS: Record<string, MetricDefinition> = {
  email_open: { key: 'email_open', kind: 'binomial', direction: 'increase', source: 'event', event: 'email.open', label: 'email open rate', description: 'share of assigned customers who opened the email' },
  email_open_human: { key: 'email_open_human', kind: 'binomial', direction: 'increase', source: 'event', event: 'email.open.human', label: 'email open rate without privacy-proxy opens', description: 'opens excluding privacy-proxy prefetches' },
  email_click: { key: 'email_click', kind: 'binomial', direction: 'increase', source: 'event', event: 'email.click', label: 'email click rate', description: 'share of assigned customers who clicked a link' },
  sms_click: { key: 'sms_click', kind: 'binomial', direction: 'increase', source: 'event', event: 'sms.click', label: 'SMS click rate', description: "share of assigned customers who opened the SMS's short link" },
  page_view: { key: 'page_view', kind: 'binomial', direction: 'increase', source: 'event', event: 'page.view', label: 'page view rate', description: 'share of assigned customers who viewed the page' },
  conversion: { key: 'conversion', kind: 'binomial', direction: 'increase', source: 'event', event: 'conversion', label: 'conversion rate', description: 'share of assigned customers who converted' },
  unsubscribe: { key: 'unsubscribe', kind: 'binomial', direction: 'decrease', source: 'event', event: 'unsubscribe', label: 'unsubscribe rate', description: 'share of assigned customers who unsubscribed (lower is better)' },
  complaint: { key: 'complaint', kind: 'binomial', direction: 'decrease', source: 'event', event: 'complaint', label: 'complaint rate', description: 'share of assigned customers who complained (lower is better)' },
  csat: { key: 'csat', kind: 'mean', direction: 'increase', source: 'survey', scale: { min: 1, max: 5 }, label: 'CSAT score', description: 'customer satisfaction, 1-5 (mean; top-2-box = share of 4-5)' },
  nps: { key: 'nps', kind: 'nps', direction: 'increase', source: 'survey', scale: { min: 0, max: 10 }, label: 'NPS', description: 'net promoter score, 0-10 (promoters 9-10, detractors 0-6)' },
  ces: { key: 'ces', kind: 'ordinal', direction: 'decrease', source: 'survey', scale: { min: 1, max: 7 }, label: 'customer effort score', description: 'customer effort score, 1-7 (lower effort is better)' },
};

export const BUILT_IN_METRIC_KEYS = Object.keys(BUILT_IN_METRICS);

export const SURVEY_SCALES: Record<SurveyMetric, { min: number; max: number }> = {
  csat: { min: 1, max: 5 },
  nps: { min: 0, max: 10 },
  ces: { min: 1, max: 7 },
};

/** Whether a key is one of the built-in survey metrics (csat, nps, ces). */
export function isBuiltInSurveyMetric(key: string): key is SurveyMetric {
  return (SURVEY_METRICS as readonly string[]).includes(key);
}

/** A survey metric as the survey block, its pages, the frequency cap and the answers listing read it. */
export interface SurveyMetricInfo {
  key: string;
  /** Inclusive; one score link per point. */
  scale: { min: number; max: number };
  /** Its name: the question label of a library or custom survey metric. */
  label: string;
  /** csat, nps or ces: asked with the built-in question and anchors; absent for the others. */
  builtIn?: SurveyMetric;
}

/** The metrics of an experiment record as these helpers read them. */
interface DeclaredMetrics {
  metrics: ExperimentMetricSources & { primary: string; secondary: string[]; guardrails: string[] };
}

/** A key's definition in one experiment, as metricsOf has it (custom over library over built in), without building them all. */
function definitionIn(metrics: DeclaredMetrics['metrics'], key: string): MetricDefinition | undefined {
  const custom = metrics.custom?.find((m) => m.key === key);
  if (custom) return isShortForm(custom) ? undefined : definitionFromLibrary(custom);
  const library = metrics.library?.find((m) => m.key === key);
  if (library) return definitionFromLibrary(library);
  return BUILT_IN_METRICS[key];
}

function surveyInfo(definition: MetricDefinition | undefined): SurveyMetricInfo | undefined {
  if (definition?.source !== 'survey') return undefined;
  const builtIn = isBuiltInSurveyMetric(definition.key) ? definition.key : undefined;
  const scale = definition.scale ?? (builtIn ? SURVEY_SCALES[builtIn] : undefined);
  if (!scale) return undefined;
  return { key: definition.key, scale, label: definition.label, ...(builtIn ? { builtIn } : {}) };
}

/** A built-in survey metric (csat, nps, ces) as SurveyMetricInfo. */
export function builtInSurveyMetric(key: SurveyMetric): SurveyMetricInfo {
  return surveyInfo(BUILT_IN_METRICS[key])!;
}

// Sends render thousands of messages of one cached record: its survey metrics are read once.
const declaredSurveys = new WeakMap<object, SurveyMetricInfo[]>();

/**
 * The survey metrics an experiment declares (primary, then secondary, then guardrails, each once): the
 * built-ins, library survey metrics and its own custom ones alike. The first is the one its messages ask.
 */
export function surveyMetricsOf(experiment: DeclaredMetrics): SurveyMetricInfo[] {
  const cached = declaredSurveys.get(experiment.metrics);
  if (cached) return cached;
  const { primary, secondary, guardrails } = experiment.metrics;
  const found: SurveyMetricInfo[] = [];
  for (const key of new Set([primary, ...secondary, ...guardrails])) {
    const info = surveyInfo(definitionIn(experiment.metrics, key));
    if (info) found.push(info);
  }
  declaredSurveys.set(experiment.metrics, found);
  return found;
}

/**
 * A survey metric an answer to this experiment may be for, by key: a built-in, a library survey metric it
 * names, or one of its custom survey metrics (declared or not); undefined for any other key.
 */
export function findSurveyMetric(experiment: DeclaredMetrics, key: string): SurveyMetricInfo | undefined {
  return surveyInfo(definitionIn(experiment.metrics, key));
}

function customLabel(key: string, kind: string): string {
  const words = key.replace(/_/g, ' ');
  return kind === 'binomial' ? `${words} rate` : words;
}

/** The readable name of a metric key, for sentences and charts. */
export function metricLabel(key: string, kind: string): string {
  return BUILT_IN_METRICS[key]?.label ?? customLabel(key, kind);
}

/** What an experiment's metrics are made of: its custom metrics and the library metrics it names (as stored with it). */
export interface ExperimentMetricSources {
  custom?: CustomMetric[];
  library?: LibraryMetricDefinition[];
}

/** Every metric an experiment can use: the catalogue, the library metrics it names, and its own custom metrics. */
export function metricsOf(sources: ExperimentMetricSources = {}): Record<string, MetricDefinition> {
  const all: Record<string, MetricDefinition> = { ...BUILT_IN_METRICS };
  for (const metric of sources.library ?? []) all[metric.key] = definitionFromLibrary(metric);
  for (const metric of sources.custom ?? []) {
    all[metric.key] = isShortForm(metric)
      ? { key: metric.key, kind: metric.kind, event: metric.event, direction: metric.direction, source: 'event', label: customLabel(metric.key, metric.kind), description: `custom ${metric.kind} metric on event ${metric.event}` }
      : definitionFromLibrary(metric);
  }
  return all;
}

/** One event's part in one metric, for the counting rule. */
export type EventRule = MetricFeed & { key: string; kind: MetricKind };

/** Event-sourced metrics keyed by event name: which metrics one event feeds in an experiment, and how. */
export function metricsByEvent(sources: ExperimentMetricSources = {}): Map<string, EventRule[]> {
  const byEvent = new Map<string, EventRule[]>();
  for (const metric of Object.values(metricsOf(sources))) {
    if (metric.source !== 'event') continue;
    const feeds = metric.feeds ?? (metric.event ? [{ event: metric.event }] : []);
    for (const feed of feeds) {
      const list = byEvent.get(feed.event) ?? [];
      list.push({ ...feed, key: metric.key, kind: metric.kind });
      byEvent.set(feed.event, list);
    }
  }
  return byEvent;
}
