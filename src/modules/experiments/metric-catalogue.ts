// The built-in CX metrics and how custom metrics join them. Pure: no I/O.

export type MetricKind = 'binomial' | 'mean' | 'nps' | 'ordinal';
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
}

export interface CustomMetric {
  key: string;
  kind: 'binomial' | 'mean';
  event: string;
  direction: Direction;
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

function customLabel(key: string, kind: string): string {
  const words = key.replace(/_/g, ' ');
  return kind === 'binomial' ? `${words} rate` : words;
}

/** The readable name of a metric key, for sentences and charts. */
export function metricLabel(key: string, kind: string): string {
  return BUILT_IN_METRICS[key]?.label ?? customLabel(key, kind);
}

/** Every metric an experiment can use: the catalogue plus its own custom metrics. */
export function metricsOf(custom: CustomMetric[] = []): Record<string, MetricDefinition> {
  const all: Record<string, MetricDefinition> = { ...BUILT_IN_METRICS };
  for (const metric of custom) {
    all[metric.key] = { ...metric, source: 'event', label: customLabel(metric.key, metric.kind), description: `custom ${metric.kind} metric on event ${metric.event}` };
  }
  return all;
}

/** Event-sourced metrics keyed by event name: which metrics one event feeds in an experiment. */
export function metricsByEvent(custom: CustomMetric[] = []): Map<string, MetricDefinition[]> {
  const byEvent = new Map<string, MetricDefinition[]>();
  for (const metric of Object.values(metricsOf(custom))) {
    if (metric.source !== 'event' || !metric.event) continue;
    const list = byEvent.get(metric.event) ?? [];
    list.push(metric);
    byEvent.set(metric.event, list);
  }
  return byEvent;
}
