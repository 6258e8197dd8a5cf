import { z } from 'zod';

// Rollout and rollback may be called without a body; absent means "the decision's variant, not forced".
export const rolloutBody = z
  .strictObject({
    variant: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'must be a variant key').optional(),
    force: z.boolean().optional(),
  })
  .optional()
  .transform((body) => body ?? {});
export type RolloutInput = z.infer<typeof rolloutBody>;

export const rollbackBody = z.strictObject({}).optional();
