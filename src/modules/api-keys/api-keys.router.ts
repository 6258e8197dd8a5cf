import { Router } from 'express';
import { handle } from '../../lib/handler';
import { requireRole } from '../../middleware/auth';
import { apiKeyIdParams, createApiKeyBody } from './api-keys.schemas';
import { apiKeysService } from './api-keys.service';

export const apiKeysRouter = Router();

apiKeysRouter.post(
  '/api-keys',
  requireRole('admin'),
  handle({ body: createApiKeyBody }, ({ body }, req) => apiKeysService.create(body, req.principal!.name), { status: 201 }),
);
apiKeysRouter.get('/api-keys', requireRole('admin'), handle({}, () => apiKeysService.list().then((keys) => ({ apiKeys: keys }))));
apiKeysRouter.delete('/api-keys/:id', requireRole('admin'), handle({ params: apiKeyIdParams }, ({ params }) => apiKeysService.revoke(params.id)));
