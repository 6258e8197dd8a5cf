import { z } from 'zod';
import { isoDate } from '../../lib/schemas';
import { ROLES } from '../../middleware/auth';

export const createApiKeyBody = z.strictObject({
  name: z.string().trim().min(1).max(100),
  role: z.enum(ROLES),
});

export const apiKeyIdParams = z.object({ id: z.string().regex(/^[a-f0-9]{64}$/, 'must be an API key id') });

// Answers (the API reference, src/lib/openapi.ts).

/** An API key as listed: never the key itself, only its first characters. */
export const apiKeyView = z
  .object({
    id: z.string().meta({ description: 'the SHA-256 of the key (hex), which is all that is stored: revoke by it' }),
    name: z.string(),
    role: z.enum(ROLES),
    prefix: z.string().meta({ description: 'the first 7 characters of the key, to recognise it' }),
    createdAt: isoDate,
    createdBy: z.string(),
    revokedAt: isoDate.nullable(),
  })
  .meta({ id: 'ApiKey' });

export const createdApiKey = apiKeyView
  .extend({ key: z.string().meta({ description: 'the key (vk_…): shown in this answer only, stored hashed' }) })
  .meta({ id: 'CreatedApiKey' });

export const apiKeyList = z.object({ apiKeys: z.array(apiKeyView) });
