import { z } from 'zod';
import { documentedAs, httpUrl, isoDate } from '../../lib/schemas';
import { isoDurationToMs } from '../../lib/duration';
import { windowDurationMs } from '../../stats/windows';
import { emailTemplateProblems } from '../../lib/email-templates';
import { BUILT_IN_METRIC_KEYS } from './metric-catalogue';
import { metricDefinition, operatorCondition, scalar } from '../../lib/metric-definition';

export const KEY_PATTERN = /^[a-z0-9][a-z0-9_-]{1,63}$/;
export const EXPERIMENT_STATUSES = ['draft', 'running', 'paused', 'stopped', 'rolled_out', 'archived'] as const;
export type ExperimentStatus = (typeof EXPERIMENT_STATUSES)[number];

export const experimentKey = z.string().regex(KEY_PATTERN, 'must be a slug: lowercase letters, digits, - and _, 2 to 64 characters');
/** The no-send arm of a campaign's holdout: a reserved variant key, never a variant of an experiment. */
export const HOLDOUT_VARIANT = 'holdout';
const variantKey = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'must be a slug: lowercase letters, digits, - and _')
  .refine((key) => key !== HOLDOUT_VARIANT, `"${HOLDOUT_VARIANT}" is reserved for the no-send arm of a campaign's holdout`);
const metricKey = z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'must be a metric key');
/** The display name of the From header: it becomes a header, so no line breaks, control characters or <>"\\. */
const fromName = z
  .string()
  .trim()
  .min(1)
  .max(100)
  // eslint-disable-next-line no-control-regex -- control characters are exactly what a header value must not hold
  .refine((value) => !/[\u0000-\u001f\u007f\u2028\u2029<>"\\]/.test(value), 'must be a display name without line breaks, control characters or <>"\\');


export const emailContent = z
  .strictObject({
    subject: z.string().min(1).max(998),
    html: z.string().min(1).max(500_000),
    text: z.string().max(500_000).optional(),
    preheader: z.string().max(500).optional(),
    // What email tests vary besides the content (sending rules, src/modules/campaigns/sending-rules.ts).
    fromName: fromName.optional(),
    sendAt: z.iso.datetime({ offset: true, error: 'must be an ISO-8601 time with a time zone, such as 2026-12-01T09:00:00Z' }).optional(),
    sendDelay: z.string().refine((value) => isoDurationToMs(value) !== null, 'must be a positive ISO-8601 duration such as PT2H (weeks, days, hours, minutes, seconds)').optional(),
  })
  .refine((content) => content.sendAt === undefined || content.sendDelay === undefined, { path: ['sendDelay'], error: 'sendAt and sendDelay exclude each other: give one' });
export const pageContent = z.strictObject({ url: httpUrl });
/** An SMS: a Handlebars template with the recipient's fields; the short link and the opt-out line are added when sent. */
export const smsContent = z.strictObject({ text: z.string().min(1).max(1600) });

export const ASSET_TYPES = ['email', 'page', 'sms'] as const;
export type AssetType = (typeof ASSET_TYPES)[number];
const CONTENT_SHAPES: Record<AssetType, string> = { email: '{subject, html, text?, preheader?, fromName?, sendAt? or sendDelay?}', page: '{url}', sms: '{text}' };

const variantBase = {
  key: variantKey,
  name: z.string().trim().min(1).max(200).optional(),
  weight: z.number().min(0).max(1),
};

/** A template that does not compile as the sender compiles it would fail every send of its variant. */
function checkTemplates(variant: { content: Record<string, unknown> }, ctx: z.RefinementCtx): void {
  for (const problem of emailTemplateProblems(variant.content)) ctx.addIssue({ code: 'custom', path: ['content', problem.field], message: problem.message });
}

export const targeting = z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/, 'must be an attribute name'), z.union([scalar, operatorCondition]));

/** The short form of a custom metric: the share of customers with an event, or the mean of its values. */
export const shortCustomMetric = z.strictObject({
  key: metricKey,
  kind: z.enum(['binomial', 'mean']),
  event: z.string().min(1).max(100),
  direction: z.enum(['increase', 'decrease']),
});
/** A custom metric: the short form, or a full definition as the metric library takes it (docs/metrics.md). */
export const customMetric = z.union([shortCustomMetric, metricDefinition]);

export const metricsSpec = z.strictObject({
  primary: metricKey,
  secondary: z.array(metricKey).max(20).default([]),
  guardrails: z.array(metricKey).max(20).default([]),
  custom: z.array(customMetric).max(20).default([]),
});

export const analysisSpec = z.strictObject({
  alpha: z.number().gt(0).lt(1).default(0.05),
  power: z.number().gt(0).lt(1).default(0.8),
  minimumDetectableEffect: z.number().gt(0).max(10).default(0.05),
  method: z.enum(['frequentist', 'sequential', 'bayesian']).default('frequentist'),
  correction: z.enum(['holm', 'benjamini-hochberg', 'none']).default('holm'),
  minSamplePerVariant: z.number().int().min(1).default(100),
  cuped: z
    .strictObject({
      lookback: z
        .string()
        .max(40)
        .refine((value) => (windowDurationMs(value, false) ?? 0) > 0, 'must be a positive ISO-8601 duration such as P14D or PT36H (no years or months)')
        .meta({ description: 'the pre-period before each customer\'s assignment: the covariate is the same metric over it' }),
    })
    .optional()
    .meta({ description: 'CUPED (Deng et al. 2013) for proportion and mean metrics; fixed once the experiment has started' }),
});

/**
 * Segments: up to 5 attribute names whose values (given at assignment) slice the results. A dimension's
 * first 20 distinct values are kept; later ones count as "(other)", customers without it as "(none)".
 */
export const dimensionsSpec = z
  .array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_-]{0,63}$/, 'must be an attribute name (letters, digits, _ and -)'))
  .max(5, 'at most 5 dimensions')
  .refine((names) => new Set(names).size === names.length, 'dimensions must be distinct');

const followUpText = z.string().trim().min(1).max(500);
/**
 * The survey's follow-up question, asked on the thank-you page after the score (a free-text answer stored
 * as the answer's comment): `true` for the built-in question in the recipient's language, or the question
 * per language (en, fa, ar); a language without one gets the built-in question.
 */
export const surveySpec = z.strictObject({
  followUp: z
    .union([z.literal(true), z.strictObject({ en: followUpText.optional(), fa: followUpText.optional(), ar: followUpText.optional() }).refine((texts) => Object.keys(texts).length > 0, 'name the question in at least one of en, fa, ar, or say true')])
    .optional(),
});
export type SurveySpec = z.infer<typeof surveySpec>;

function checkMetrics(metrics: z.infer<typeof metricsSpec>, ctx: z.RefinementCtx, path: (string | number)[]) {
  const customKeys = new Set<string>();
  metrics.custom.forEach((metric, i) => {
    if (BUILT_IN_METRIC_KEYS.includes(metric.key)) ctx.addIssue({ code: 'custom', path: [...path, 'custom', i, 'key'], message: `"${metric.key}" is a built-in metric` });
    if (customKeys.has(metric.key)) ctx.addIssue({ code: 'custom', path: [...path, 'custom', i, 'key'], message: `duplicate custom metric "${metric.key}"` });
    customKeys.add(metric.key);
  });
  // Keys that are neither built in nor custom name metrics of the library: the service looks them up.
}

/** Where an experiment's metrics name each key that is neither built in nor custom (for the library lookup). */
export function libraryMetricKeys(metrics: { primary: string; secondary: string[]; guardrails: string[]; custom: { key: string }[] }): { key: string; path: (string | number)[] }[] {
  const local = new Set([...BUILT_IN_METRIC_KEYS, ...metrics.custom.map((m) => m.key)]);
  const named: { key: string; path: (string | number)[] }[] = [{ key: metrics.primary, path: ['metrics', 'primary'] }];
  for (const list of ['secondary', 'guardrails'] as const) metrics[list].forEach((key, i) => named.push({ key, path: ['metrics', list, i] }));
  return named.filter(({ key }) => !local.has(key));
}

const experimentFields = {
  name: z.string().trim().min(1).max(200),
  hypothesis: z.string().max(2000).optional(),
  assetType: z.enum(ASSET_TYPES),
  variants: z
    .array(z.strictObject({ ...variantBase, content: z.union([emailContent, pageContent, smsContent]) }).superRefine(checkTemplates))
    .min(2, 'an experiment needs 2 to 8 variants')
    .max(8, 'an experiment needs 2 to 8 variants'),
  controlVariant: variantKey.optional(),
  coverage: z.number().min(0).max(1).default(1),
  seed: z.string().min(1).max(200).optional(),
  targeting: targeting.optional(),
  metrics: metricsSpec,
  analysis: analysisSpec.default(() => analysisSpec.parse({})),
  dimensions: dimensionsSpec.optional(),
  survey: surveySpec.optional(),
};

interface ExperimentShape {
  assetType?: AssetType;
  variants?: { key: string; weight: number; content: unknown }[];
  controlVariant?: string;
  metrics?: z.infer<typeof metricsSpec>;
}

/** Cross-field rules shared by create and by the merged result of a PATCH. */
export function checkExperiment(value: ExperimentShape, ctx: z.RefinementCtx): void {
  const variants = value.variants ?? [];
  const keys = new Set<string>();
  variants.forEach((variant, i) => {
    if (keys.has(variant.key)) ctx.addIssue({ code: 'custom', path: ['variants', i, 'key'], message: `duplicate variant key "${variant.key}"` });
    keys.add(variant.key);
    const schema = value.assetType === 'page' ? pageContent : value.assetType === 'sms' ? smsContent : emailContent;
    const parsed = schema.safeParse(variant.content);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        ctx.addIssue({ code: 'custom', path: ['variants', i, 'content', ...issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p))], message: `${issue.message} (${value.assetType} content is ${CONTENT_SHAPES[value.assetType ?? 'email']})` });
      }
    }
  });
  if (variants.length > 0) {
    const total = variants.reduce((sum, v) => sum + v.weight, 0);
    if (Math.abs(total - 1) > 0.001) ctx.addIssue({ code: 'custom', path: ['variants'], message: `variant weights must sum to 1 (they sum to ${Number(total.toFixed(6))})` });
  }
  if (value.controlVariant !== undefined && !keys.has(value.controlVariant)) {
    ctx.addIssue({ code: 'custom', path: ['controlVariant'], message: `"${value.controlVariant}" is not one of the variants` });
  }
  if (value.metrics) checkMetrics(value.metrics, ctx, ['metrics']);
}

export const createExperimentBody = z.strictObject({ key: experimentKey, ...experimentFields }).superRefine(checkExperiment);
export type CreateExperimentInput = z.infer<typeof createExperimentBody>;

/** POST .../start: optionally when it really started (an experiment that ran elsewhere), not in the future. */
export const startExperimentBody = z
  .strictObject({
    startedAt: z.iso
      .datetime({ offset: true })
      .transform((value) => new Date(value))
      .refine((date) => date.getTime() <= Date.now(), 'must not be in the future')
      .optional(),
  })
  .optional();

export const patchExperimentBody = z
  .strictObject({
    name: experimentFields.name.optional(),
    hypothesis: experimentFields.hypothesis,
    assetType: experimentFields.assetType.optional(),
    variants: experimentFields.variants.optional(),
    controlVariant: variantKey.optional(),
    coverage: z.number().min(0).max(1).optional(),
    seed: experimentFields.seed,
    targeting: targeting.nullable().optional(),
    metrics: metricsSpec.optional(),
    analysis: analysisSpec.partial().optional(),
    dimensions: dimensionsSpec.optional(),
    survey: surveySpec.nullable().optional().meta({ description: 'the survey settings (null removes them)' }),
  })
  .refine((body) => Object.keys(body).length > 0, 'body must change at least one field');
export type PatchExperimentInput = z.infer<typeof patchExperimentBody>;

export const listExperimentsQuery = z.strictObject({
  status: z.enum(EXPERIMENT_STATUSES).optional(),
  assetType: z.enum(ASSET_TYPES).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});

export const experimentKeyParams = z.object({ key: experimentKey });

// Answers (the API reference, src/lib/openapi.ts).

/** A variant's content as stored: what the experiment's asset type validated on the way in. */
export const variantContent = documentedAs<Record<string, unknown>>(z.union([emailContent, pageContent, smsContent]).meta({ description: 'email: {subject, html, text?, preheader?, fromName?, sendAt? or sendDelay?}; page: {url}; sms: {text}' }));

const { alpha, power, minimumDetectableEffect, method, correction, minSamplePerVariant, cuped } = analysisSpec.shape;
const analysisView = z.object({
  alpha: alpha.unwrap(),
  power: power.unwrap(),
  minimumDetectableEffect: minimumDetectableEffect.unwrap(),
  method: method.unwrap(),
  correction: correction.unwrap(),
  minSamplePerVariant: minSamplePerVariant.unwrap(),
  cuped,
});
const metricsView = z.object({
  primary: metricsSpec.shape.primary,
  secondary: metricsSpec.shape.secondary.unwrap(),
  guardrails: metricsSpec.shape.guardrails.unwrap(),
  custom: metricsSpec.shape.custom.unwrap(),
  library: z.array(z.unknown()).optional().meta({ description: 'the library metrics it names, as they were when it was created, edited or started (read only)' }),
});

export const historyEntry = z
  .object({
    at: isoDate,
    action: z.string().meta({ description: 'created, updated, start, pause, resume, stop, rolled_out, rolled_back or archived' }),
    actor: z.string().meta({ description: 'the name of the API key that did it' }),
    details: z.record(z.string(), z.unknown()).optional(),
  })
  .meta({ id: 'HistoryEntry' });

export const smsSegmentsView = z
  .object({ encoding: z.enum(['GSM-7', 'UCS-2']), units: z.number().int().meta({ description: 'GSM-7 septets (extension characters count 2) or UCS-2 code units' }), segments: z.number().int() })
  .meta({ id: 'SmsSegments' });

export const experimentView = z
  .object({
    key: experimentKey,
    name: z.string(),
    hypothesis: z.string().optional(),
    assetType: z.enum(ASSET_TYPES),
    variants: z.array(
      z.object({
        key: z.string(),
        name: z.string().optional(),
        weight: z.number(),
        content: variantContent,
        sms: smsSegmentsView.optional().meta({ description: 'sms experiments: the encoding and segments of the text as written (the campaign shows them for the message as sent)' }),
      }),
    ),
    controlVariant: z.string(),
    coverage: z.number(),
    seed: z.string(),
    targeting: documentedAs<Record<string, unknown>>(targeting).optional(),
    metrics: metricsView,
    analysis: analysisView,
    dimensions: z.array(z.string()).optional().meta({ description: 'attribute names that slice the results (GET .../results?dimension=)' }),
    survey: surveySpec.optional().meta({ description: 'survey settings: the follow-up question after the score' }),
    status: z.enum(EXPERIMENT_STATUSES),
    rollout: z.object({ variant: z.string(), at: isoDate, by: z.string() }).optional().meta({ description: 'while rolled_out: the variant every later assignment gets' }),
    createdAt: isoDate,
    updatedAt: isoDate,
    startedAt: isoDate.optional(),
    stoppedAt: isoDate.optional(),
  })
  .meta({ id: 'Experiment' });

export const experimentList = z.object({ experiments: z.array(experimentView), total: z.number().int(), limit: z.number().int(), offset: z.number().int() });
export const experimentHistory = z.object({ history: z.array(historyEntry) });
