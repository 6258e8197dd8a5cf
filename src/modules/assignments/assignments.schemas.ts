import { z } from 'zod';
import { isoDate, storableObject } from '../../lib/schemas';
import { experimentKey, variantContent } from '../experiments';

export const customerId = z.string().min(1).max(200).regex(/^[^\s]+$/, 'must not contain spaces');
/** Targeting attributes: a free-form object under the shared rules for keys, numbers and nesting. */
export const attributes = storableObject(64).refine((value) => Object.keys(value).length <= 100, 'at most 100 attributes');

export const assignBody = z.strictObject({
  experiment: experimentKey,
  customerId,
  attributes: attributes.optional(),
  /** QA override: put this customer in a named variant (stored, reason "forced"). */
  forceVariant: z.string().min(1).max(64).optional(),
});

export const MAX_BATCH = 10_000;
export const assignBatchBody = z.strictObject({
  experiment: experimentKey,
  customers: z
    .array(z.strictObject({ customerId, attributes: attributes.optional() }))
    .min(1)
    .max(MAX_BATCH, `at most ${MAX_BATCH} customers per batch`),
});

export const MAX_IMPORT = 10_000;
/** Input times: ISO-8601 with a time zone (Z or an offset). */
const inputTime = z.iso.datetime({ offset: true }).transform((value) => new Date(value));
export const importAssignmentsBody = z.strictObject({
  assignments: z
    .array(z.strictObject({ customerId, variant: z.string().min(1).max(64), assignedAt: inputTime, attributes: attributes.optional() }))
    .min(1)
    .max(MAX_IMPORT, `at most ${MAX_IMPORT} assignments per call`),
});

export const experimentAssignmentsQuery = z.strictObject({
  customerId: customerId.optional(),
  variant: z.string().max(64).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  offset: z.coerce.number().int().min(0).default(0),
});

export const customerParams = z.object({ customerId });
export const pageRedirectParams = z.object({ experiment: experimentKey });
/**
 * `cid`, and attributes as `attr.<name>=<value>` (targeting and segments, like `attributes` of POST
 * /v1/assignments; values are text). Other parameters are ignored.
 */
export const pageRedirectQuery = z
  .looseObject({ cid: customerId })
  .superRefine((query, ctx) => {
    for (const [name, value] of Object.entries(query)) {
      if (!name.startsWith('attr.')) continue;
      if (!/^[A-Za-z_][A-Za-z0-9_-]{0,63}$/.test(name.slice(5))) ctx.addIssue({ code: 'custom', path: [name], message: 'must be attr.<attribute name>' });
      else if (typeof value !== 'string' || value.length > 200) ctx.addIssue({ code: 'custom', path: [name], message: 'must be given once, at most 200 characters' });
    }
  });

/** The attributes of a page redirect's query (`attr.<name>=<value>`, checked by pageRedirectQuery). */
export function redirectAttributes(query: Record<string, unknown>): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (const [name, value] of Object.entries(query)) if (name.startsWith('attr.') && typeof value === 'string') attributes[name.slice(5)] = value;
  return attributes;
}

// Answers (the API reference, src/lib/openapi.ts).

export const ASSIGNMENT_REASONS = ['hash', 'sticky', 'not_targeted', 'coverage', 'not_running', 'rollout', 'forced'] as const;

export const assignmentView = z
  .object({
    experiment: z.string(),
    customerId: z.string(),
    variant: z.string().nullable().meta({ description: 'null: not in the experiment (the reason says why)' }),
    inExperiment: z.boolean(),
    reason: z.enum(ASSIGNMENT_REASONS).meta({
      description:
        'hash: assigned now by the hash; sticky: assigned before; forced: forceVariant; rollout: the rolled-out winner; not_targeted, coverage, not_running: not in the experiment',
    }),
    content: variantContent.nullable().meta({ description: "the variant's content (null when not in the experiment)" }),
    assignedAt: isoDate.optional().meta({ description: 'when the stored assignment was made (absent when none is stored)' }),
  })
  .meta({ id: 'Assignment' });

export const assignmentBatch = z.object({ assignments: z.array(assignmentView).meta({ description: 'in the order of the customers sent' }) });

/** A stored assignment. */
export const storedAssignment = z
  .object({
    experiment: z.string(),
    customerId: z.string(),
    variant: z.string().meta({ description: 'a variant key, or "holdout": held out by a campaign (sent nothing, still measured)' }),
    reason: z.enum(['hash', 'forced', 'holdout', 'imported']).meta({ description: 'imported: made elsewhere and imported with its time (POST .../assignments/import)' }),
    assignedAt: isoDate,
  })
  .meta({ id: 'StoredAssignment' });

export const importAssignmentsResult = z
  .object({
    imported: z.number().int().meta({ description: 'assignments stored by this call' }),
    duplicates: z.array(z.string()).meta({ description: 'customers assigned before (their first assignment is kept), or repeated in the call' }),
  })
  .meta({ id: 'AssignmentImport' });

export const experimentAssignments = z.object({ assignments: z.array(storedAssignment), limit: z.number().int(), offset: z.number().int() });
export const customerAssignments = z.object({ customerId: z.string(), assignments: z.array(storedAssignment) });
