import { z } from 'zod';

// The answer of GET /openapi.json (the API reference, src/lib/openapi.ts): the document describes itself.
const objects = z.record(z.string(), z.unknown()).optional();
export const openApiDocumentView = z.object({
  openapi: z.string().meta({ description: '3.1.0' }),
  info: z.object({ title: z.string(), version: z.string(), description: z.string().optional() }),
  tags: z.array(z.object({ name: z.string(), description: z.string().optional() })).optional(),
  paths: objects,
  components: z.object({ schemas: objects, parameters: objects, securitySchemes: objects }).optional(),
  webhooks: objects,
});
