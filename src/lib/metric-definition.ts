// The definition of a metric (docs/metrics.md): what the metric library stores and what an experiment's
// metrics name. Shared (src/lib) so the metrics module and the experiments module can both validate
// definitions without importing each other. Pure: zod schemas and the filter matcher, no I/O.
import { evalCondition } from '@growthbook/growthbook';
import { z } from 'zod';
import { windowDurationMs } from '../stats/windows';

export const METRIC_KEY_PATTERN = /^[a-z][a-z0-9_]{0,63}$/;
export const metricKey = z.string().regex(METRIC_KEY_PATTERN, 'must be a metric key: a lowercase letter, then lowercase letters, digits and _, up to 64 characters');

export const METRIC_KINDS = ['proportion', 'mean', 'ratio', 'quantile', 'survey'] as const;
export type MetricDefinitionKind = (typeof METRIC_KINDS)[number];

const eventName = z.string().min(1).max(100);
const direction = z.enum(['increase', 'decrease']).meta({ description: 'which way is better: "increase" (retention, CSAT) or "decrease" (churn, CES, time to resolution)' });

// The operators of experiment targeting (GrowthBook conditions), on the event's properties.
export const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);
/** One condition with targeting's operators (experiments' targeting and metric filters). */
export const operatorCondition = z
  .strictObject({
    $eq: scalar.optional(),
    $ne: scalar.optional(),
    $in: z.array(scalar).optional(),
    $nin: z.array(scalar).optional(),
    $gt: z.union([z.string(), z.number()]).optional(),
    $gte: z.union([z.string(), z.number()]).optional(),
    $lt: z.union([z.string(), z.number()]).optional(),
    $lte: z.union([z.string(), z.number()]).optional(),
    $exists: z.boolean().optional(),
  })
  .refine((condition) => Object.keys(condition).length > 0, 'must name at least one operator');

const PROPERTY_PATH = /^properties\.[A-Za-z_][A-Za-z0-9_-]{0,63}(?:\.[A-Za-z_][A-Za-z0-9_-]{0,63}){0,3}$/;
const propertyPath = z.string().regex(PROPERTY_PATH, 'must be "properties.<name>" (a property of the event, nested names joined by ".")');

export const metricFilter = z
  .record(propertyPath, z.union([scalar, operatorCondition]))
  .refine((filter) => Object.keys(filter).length <= 20, 'at most 20 conditions')
  .meta({ description: 'conditions on the event\'s properties, with the operators of targeting: {"properties.channel": "email", "properties.priority": {"$in": ["high", "urgent"]}}' });
export type MetricFilter = z.infer<typeof metricFilter>;

const delay = z
  .string()
  .max(40)
  .refine((value) => windowDurationMs(value, true) !== null, 'must be an ISO-8601 duration such as P7D, PT12H or PT0S (no years or months)');
const duration = z
  .string()
  .max(40)
  .refine((value) => windowDurationMs(value, false) !== null, 'must be a positive ISO-8601 duration such as P1D or PT36H (no years or months)');
export const metricWindow = z
  .strictObject({
    delay: delay.optional().meta({ description: 'after each customer\'s assignment; default PT0S' }),
    duration: duration.optional().meta({ description: 'how long the window stays open; absent: until the analysis ends' }),
  })
  .meta({ description: 'relative to each customer\'s own assignment: [assignedAt + delay, assignedAt + delay + duration)' });

/** What a customer's event contributes: 1 per event, its `value`, or a numeric property. */
export const metricValue = z
  .union([z.enum(['count', 'value']), propertyPath])
  .meta({ description: '"count" (1 per event), "value" (the event\'s value) or "properties.<name>" (a numeric property)' });
const observedValue = z
  .union([z.literal('value'), propertyPath])
  .meta({ description: '"value" (the event\'s value) or "properties.<name>" (a numeric property): one observation per event' });

export const metricCapping = z
  .discriminatedUnion('type', [
    z.strictObject({ type: z.literal('absolute'), value: z.number().min(0).max(1e15) }),
    z.strictObject({ type: z.literal('percentile'), value: z.number().gt(0).lt(1) }),
  ])
  .meta({ description: 'per-customer totals above the cap count as the cap: a fixed value, or a percentile (e.g. 0.99) of the pooled customers of the experiment' });

const base = {
  key: metricKey,
  name: z.string().trim().min(1).max(200),
  description: z.string().max(2000).optional(),
  direction,
};

const eventSide = z.strictObject({ event: eventName, filter: metricFilter.optional(), value: metricValue });

const proportionFields = {
  kind: z.literal('proportion'),
  event: eventName,
  filter: metricFilter.optional(),
  window: metricWindow.optional(),
  match: z.enum(['any', 'none']).default('any').meta({ description: '"any": the share with at least one matching event in the window; "none": the share with none (churn)' }),
};
const meanFields = {
  kind: z.literal('mean'),
  event: eventName,
  filter: metricFilter.optional(),
  window: metricWindow.optional(),
  value: metricValue,
  capping: metricCapping.optional(),
};
const ratioFields = {
  kind: z.literal('ratio'),
  numerator: eventSide,
  denominator: eventSide,
  window: metricWindow.optional(),
};
const quantileFields = {
  kind: z.literal('quantile'),
  event: eventName,
  filter: metricFilter.optional(),
  window: metricWindow.optional(),
  value: observedValue,
  quantile: z.number().gt(0).lt(1).meta({ description: 'q in (0, 1): 0.5 for the median, 0.9 for P90' }),
};
const surveyFields = {
  kind: z.literal('survey'),
  scale: z.strictObject({ min: z.number().int().min(-100).max(100), max: z.number().int().min(-100).max(100) }),
  topBox: z.array(z.number().int()).min(1).max(100).optional().meta({ description: 'the scores that count as satisfied, e.g. [4, 5] on 1 to 5' }),
  nps: z.boolean().optional().meta({ description: 'a 0 to 10 likelihood to recommend, read as promoters (9, 10) minus detractors (0 to 6)' }),
};

interface SurveyShape {
  scale: { min: number; max: number };
  topBox?: number[];
  nps?: boolean;
}

function checkSurvey(value: SurveyShape, ctx: z.RefinementCtx): void {
  const { min, max } = value.scale;
  if (min >= max) ctx.addIssue({ code: 'custom', path: ['scale', 'max'], message: `must be greater than scale.min (${min})` });
  else if (max - min > 100) ctx.addIssue({ code: 'custom', path: ['scale', 'max'], message: 'a scale has at most 101 points' });
  const seen = new Set<number>();
  value.topBox?.forEach((score, i) => {
    if (score < min || score > max) ctx.addIssue({ code: 'custom', path: ['topBox', i], message: `${score} is outside the scale ${min} to ${max}` });
    if (seen.has(score)) ctx.addIssue({ code: 'custom', path: ['topBox', i], message: `${score} is listed twice` });
    seen.add(score);
  });
  if (value.topBox && min < max && seen.size === max - min + 1) ctx.addIssue({ code: 'custom', path: ['topBox'], message: 'must leave out at least one score of the scale' });
  if (value.nps && (min !== 0 || max !== 10)) ctx.addIssue({ code: 'custom', path: ['nps'], message: 'NPS needs the scale 0 to 10' });
  if (value.nps && value.topBox) ctx.addIssue({ code: 'custom', path: ['topBox'], message: 'an NPS metric has no top box (promoters are 9 and 10)' });
}

/** A metric definition as the API accepts it (POST /v1/metrics, and the merged result of a PATCH). */
export const metricDefinition = z.discriminatedUnion('kind', [
  z.strictObject({ ...base, ...proportionFields }),
  z.strictObject({ ...base, ...meanFields }),
  z.strictObject({ ...base, ...ratioFields }),
  z.strictObject({ ...base, ...quantileFields }),
  z.strictObject({ ...base, ...surveyFields }).superRefine(checkSurvey),
]);
export type MetricDefinitionInput = z.input<typeof metricDefinition>;
export type LibraryMetricDefinition = z.output<typeof metricDefinition>;

/** Every field a definition may have but its key, each optional: the body of a PATCH, validated again once merged. */
export const metricDefinitionPatch = z
  .strictObject({
    name: base.name.optional(),
    description: base.description.nullable().meta({ description: 'null removes it' }),
    direction: direction.optional(),
    kind: z.enum(METRIC_KINDS).optional().meta({ description: 'a new kind replaces the whole definition: send every field it needs' }),
    event: eventName.optional(),
    filter: metricFilter.nullable().optional(),
    window: metricWindow.nullable().optional(),
    match: proportionFields.match.unwrap().optional(),
    value: metricValue.optional(),
    capping: metricCapping.nullable().optional(),
    numerator: eventSide.optional(),
    denominator: eventSide.optional(),
    quantile: quantileFields.quantile.optional(),
    scale: surveyFields.scale.optional(),
    topBox: z.array(z.number().int()).min(1).max(100).nullable().optional(),
    nps: z.boolean().nullable().optional(),
  })
  .refine((body) => Object.keys(body).length > 0, 'body must change at least one field');
export type MetricDefinitionPatch = z.infer<typeof metricDefinitionPatch>;

/** Answers: the fields of each kind, not strict (the metrics module adds its own, such as builtIn). */
export const METRIC_VIEW_SHAPES = {
  proportion: { ...base, ...proportionFields, match: proportionFields.match.unwrap() },
  mean: { ...base, ...meanFields },
  ratio: { ...base, ...ratioFields },
  quantile: { ...base, ...quantileFields },
  survey: { ...base, ...surveyFields },
};

/** Whether an event's properties satisfy a metric's filter (no filter: every event matches). */
export function matchesMetricFilter(filter: MetricFilter | undefined, properties: Record<string, unknown> | undefined): boolean {
  if (!filter || Object.keys(filter).length === 0) return true;
  return evalCondition({ properties: properties ?? {} }, filter);
}
