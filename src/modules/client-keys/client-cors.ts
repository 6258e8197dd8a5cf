// CORS for the public client-key routes: any origin when the key lists none, else only the listed ones
// (echoed, with Vary: Origin). A request from another origin is refused here, not merely hidden from the
// page: beacons are simple requests that a browser sends without asking first. Requests without an Origin
// (servers, server-side SDKs) are let through. No credentials: the key is the only identification.
import type { RequestHandler } from 'express';
import { ForbiddenError, NotFoundError } from '../../lib/errors';
import { clientKeyParams } from './client-keys.schemas';
import { clientKeysService, type ResolvedClientKey } from './client-keys.service';

declare module 'express-serve-static-core' {
  interface Request {
    clientKey?: ResolvedClientKey;
  }
}

const PREFLIGHT_MAX_AGE_SECONDS = 600;

/** Resolves :clientKey (404 when unknown or revoked), sets the CORS headers and answers preflights. */
export const clientKeyCors: RequestHandler = async (req, res, next) => {
  const { clientKey } = clientKeyParams.parse(req.params);
  const origin = req.headers.origin;
  res.vary('Origin');
  // Read from pages of other origins (the script's and the payload's <script>/fetch loads).
  res.set('Cross-Origin-Resource-Policy', 'cross-origin');
  const resolved = await clientKeysService.resolve(clientKey);
  if (!resolved) {
    // Readable by any page, so an SDK can tell a wrong key from a network failure.
    res.set('Access-Control-Allow-Origin', '*');
    throw new NotFoundError('client key');
  }
  const anyOrigin = resolved.allowedOrigins.length === 0;
  if (origin !== undefined && !anyOrigin && !resolved.allowedOrigins.includes(origin)) {
    throw new ForbiddenError(`origin ${origin} may not use this client key (its allowedOrigins do not list it)`);
  }
  if (anyOrigin) res.set('Access-Control-Allow-Origin', '*');
  else if (origin !== undefined) res.set('Access-Control-Allow-Origin', origin);
  res.set('Access-Control-Expose-Headers', 'ETag');
  if (req.method === 'OPTIONS') {
    res.set({
      'Access-Control-Allow-Methods': 'GET, HEAD, POST',
      'Access-Control-Allow-Headers': 'Content-Type, If-None-Match',
      'Access-Control-Max-Age': String(PREFLIGHT_MAX_AGE_SECONDS),
    });
    res.status(204).end();
    return;
  }
  req.clientKey = resolved;
  next();
};
