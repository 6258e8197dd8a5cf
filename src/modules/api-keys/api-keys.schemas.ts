import { z } from 'zod';

export const ROLES = ['admin', 'editor', 'viewer', 'ingest'] as const;
export type Role = (typeof ROLES)[number];

export const createApiKeyBody = z.strictObject({
  name: z.string().trim().min(1).max(100),
  role: z.enum(ROLES),
});

export const apiKeyIdParams = z.object({ id: z.string().regex(/^[a-f0-9]{64}$/, 'must be an API key id') });
