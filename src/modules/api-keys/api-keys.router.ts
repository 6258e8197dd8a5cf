import { Router } from 'express';
import { documented } from '../../lib/openapi';
import { can } from '../../middleware/auth';
import { apiKeyIdParams, apiKeyList, apiKeyView, createApiKeyBody, createdApiKey } from './api-keys.schemas';
import { apiKeysService } from './api-keys.service';

export const apiKeysRouter = Router();
const route = documented(apiKeysRouter, { prefix: '/v1', tag: 'API keys' });

route.post(
  '/api-keys',
  { access: can.admin, summary: 'Create an API key', body: createApiKeyBody, responses: { 201: { description: 'the key, shown this once (only its hash is stored)', json: createdApiKey } } },
  ({ body }, req) => apiKeysService.create(body, req.principal!.name),
);
route.get('/api-keys', { access: can.admin, summary: 'List the API keys', responses: { 200: { description: 'every key, revoked ones too', json: apiKeyList } } }, async () => ({
  apiKeys: await apiKeysService.list(),
}));
route.delete(
  '/api-keys/:id',
  { access: can.admin, summary: 'Revoke an API key', params: apiKeyIdParams, responses: { 200: { description: 'the revoked key', json: apiKeyView } }, errors: { 404: '`not_found`: no such key.' } },
  ({ params }) => apiKeysService.revoke(params.id),
);
