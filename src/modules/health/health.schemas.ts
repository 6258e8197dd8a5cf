import { z } from 'zod';

// Answers (the API reference, src/lib/openapi.ts).
export const healthy = z.object({ status: z.literal('ok') });
export const unhealthy = z.object({ status: z.literal('unhealthy'), database: z.literal(false) });
export const ready = z.object({ status: z.literal('ready'), database: z.literal(true) });
export const unavailable = z.object({ status: z.literal('unavailable'), database: z.literal(false) });
