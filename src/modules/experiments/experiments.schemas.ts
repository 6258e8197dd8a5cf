import { z } from 'zod';
import { documentedAs, httpUrl, isoDate } from '../../lib/schemas';
import { emailTemplateProblems } from '../../lib/email-templates';
import { BUILT_IN_METRIC_KEYS } from './metric-catalogue';

export const KEY_PATTERN = /^[a-z0-9][a-z0-9_-]{1,63}$/;
export const EXPERIMENT_STATUSES = ['draft', 'running', 'paused', 'stopped', 'rolled_out', 'archived'] as const;
export type ExperimentStatus = (typeof EXPERIMENT_STATUSES)[number];

export const experimentKey = z.string().regex(KEY_PATTERN, 'must be a slug: lowercase letters, digits, - and _, 2 to 64 characters');
const variantKey = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'must be a slug: lowercase letters, digits, - and _');
const metricKey = z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'must be a metric key');


export const emailContent = z.strictObject({
  subject: z.string().min(1).max(998),
  html: z.string().min(1).max(500_000),
  text: z.string().max(500_000).optional(),
  preheader: z.string().max(500).optional(),
});
export const pageContent = z.strictObject({ url: httpUrl });

const variantBase = {
  key: variantKey,
  name: z.string().trim().min(1).max(200).optional(),
  weight: z.number().min(0).max(1),
};

/** A template that does not compile as the sender compiles it would fail every send of its variant. */
function checkTemplates(variant: { content: Record<string, unknown> }, ctx: z.RefinementCtx): void {
  for (const problem of emailTemplateProblems(variant.content)) ctx.addIssue({ code: 'custom', path: ['content', problem.field], message: problem.message });
}

const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);
const operatorCondition = z
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
export const targeting = z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/, 'must be an attribute name'), z.union([scalar, operatorCondition]));

export const customMetric = z.strictObject({
  key: metricKey,
  kind: z.enum(['binomial', 'mean']),
  event: z.string().min(1).max(100),
  direction: z.enum(['increase', 'decrease']),
});

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
});

function checkMetrics(metrics: z.infer<typeof metricsSpec>, ctx: z.RefinementCtx, path: (string | number)[]) {
  const customKeys = new Set<string>();
  metrics.custom.forEach((metric, i) => {
    if (BUILT_IN_METRIC_KEYS.includes(metric.key)) ctx.addIssue({ code: 'custom', path: [...path, 'custom', i, 'key'], message: `"${metric.key}" is a built-in metric` });
    if (customKeys.has(metric.key)) ctx.addIssue({ code: 'custom', path: [...path, 'custom', i, 'key'], message: `duplicate custom metric "${metric.key}"` });
    customKeys.add(metric.key);
  });
  const known = (key: string) => BUILT_IN_METRIC_KEYS.includes(key) || customKeys.has(key);
  const message = (key: string) => `unknown metric "${key}" (built in: ${BUILT_IN_METRIC_KEYS.join(', ')}; or define it under metrics.custom)`;
  if (!known(metrics.primary)) ctx.addIssue({ code: 'custom', path: [...path, 'primary'], message: message(metrics.primary) });
  for (const list of ['secondary', 'guardrails'] as const) {
    metrics[list].forEach((key, i) => {
      if (!known(key)) ctx.addIssue({ code: 'custom', path: [...path, list, i], message: message(key) });
    });
  }
}

const experimentFields = {
  name: z.string().trim().min(1).max(200),
  hypothesis: z.string().max(2000).optional(),
  assetType: z.enum(['email', 'page']),
  variants: z
    .array(z.strictObject({ ...variantBase, content: z.union([emailContent, pageContent]) }).superRefine(checkTemplates))
    .min(2, 'an experiment needs 2 to 8 variants')
    .max(8, 'an experiment needs 2 to 8 variants'),
  controlVariant: variantKey.optional(),
  coverage: z.number().min(0).max(1).default(1),
  seed: z.string().min(1).max(200).optional(),
  targeting: targeting.optional(),
  metrics: metricsSpec,
  analysis: analysisSpec.default(() => analysisSpec.parse({})),
};

interface ExperimentShape {
  assetType?: 'email' | 'page';
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
    const schema = value.assetType === 'page' ? pageContent : emailContent;
    const parsed = schema.safeParse(variant.content);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        ctx.addIssue({ code: 'custom', path: ['variants', i, 'content', ...issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p))], message: `${issue.message} (${value.assetType} content is ${value.assetType === 'page' ? '{url}' : '{subject, html, text?, preheader?}'})` });
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
  })
  .refine((body) => Object.keys(body).length > 0, 'body must change at least one field');
export type PatchExperimentInput = z.infer<typeof patchExperimentBody>;

export const listExperimentsQuery = z.strictObject({
  status: z.enum(EXPERIMENT_STATUSES).optional(),
  assetType: z.enum(['email', 'page']).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});

export const experimentKeyParams = z.object({ key: experimentKey });

// Answers (the API reference, src/lib/openapi.ts).

/** A variant's content as stored: what the experiment's asset type validated on the way in. */
export const variantContent = documentedAs<Record<string, unknown>>(z.union([emailContent, pageContent]).meta({ description: 'email: {subject, html, text?, preheader?}; page: {url}' }));

const { alpha, power, minimumDetectableEffect, method, correction, minSamplePerVariant } = analysisSpec.shape;
const analysisView = z.object({
  alpha: alpha.unwrap(),
  power: power.unwrap(),
  minimumDetectableEffect: minimumDetectableEffect.unwrap(),
  method: method.unwrap(),
  correction: correction.unwrap(),
  minSamplePerVariant: minSamplePerVariant.unwrap(),
});
const metricsView = z.object({
  primary: metricsSpec.shape.primary,
  secondary: metricsSpec.shape.secondary.unwrap(),
  guardrails: metricsSpec.shape.guardrails.unwrap(),
  custom: metricsSpec.shape.custom.unwrap(),
});

export const historyEntry = z
  .object({
    at: isoDate,
    action: z.string().meta({ description: 'created, updated, start, pause, resume, stop, rolled_out, rolled_back or archived' }),
    actor: z.string().meta({ description: 'the name of the API key that did it' }),
    details: z.record(z.string(), z.unknown()).optional(),
  })
  .meta({ id: 'HistoryEntry' });

export const experimentView = z
  .object({
    key: experimentKey,
    name: z.string(),
    hypothesis: z.string().optional(),
    assetType: z.enum(['email', 'page']),
    variants: z.array(z.object({ key: z.string(), name: z.string().optional(), weight: z.number(), content: variantContent })),
    controlVariant: z.string(),
    coverage: z.number(),
    seed: z.string(),
    targeting: documentedAs<Record<string, unknown>>(targeting).optional(),
    metrics: metricsView,
    analysis: analysisView,
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
