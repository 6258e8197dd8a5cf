// The authentication of the /v1 API: a bearer API key, looked up by the api-keys service, becomes the
// request's principal; the role checks of src/middleware/auth.ts read it.
import type { RequestHandler } from 'express';
import { UnauthorizedError } from '../../lib/errors';
import { apiKeysService } from './api-keys.service';

export const authenticate: RequestHandler = async (req, _res, next) => {
  const header = req.headers.authorization;
  const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  if (!match) throw new UnauthorizedError('missing API key: send Authorization: Bearer <key>');
  const principal = await apiKeysService.authenticate(match[1]);
  if (!principal) throw new UnauthorizedError('invalid API key');
  req.principal = principal;
  next();
};
