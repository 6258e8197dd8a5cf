import { z } from 'zod';
import { storableObject } from '../../lib/schemas';
import { experimentKey } from '../experiments';

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

export const experimentAssignmentsQuery = z.strictObject({
  customerId: customerId.optional(),
  variant: z.string().max(64).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  offset: z.coerce.number().int().min(0).default(0),
});

export const customerParams = z.object({ customerId });
export const pageRedirectParams = z.object({ experiment: experimentKey });
export const pageRedirectQuery = z.object({ cid: customerId });
