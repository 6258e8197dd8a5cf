// Bearer API keys checked by role. Admin may do everything; other roles are listed per route.
import type { RequestHandler } from 'express';
import { ForbiddenError, UnauthorizedError } from '../lib/errors';
import { apiKeysService, type Principal, type Role } from '../modules/api-keys';

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal;
  }
}

export const authenticate: RequestHandler = async (req, _res, next) => {
  const header = req.headers.authorization;
  const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  if (!match) throw new UnauthorizedError('missing API key: send Authorization: Bearer <key>');
  const principal = await apiKeysService.authenticate(match[1]!);
  if (!principal) throw new UnauthorizedError('invalid API key');
  req.principal = principal;
  next();
};

/** A role check, and the roles it lets through (admin first): the API reference (src/lib/openapi.ts) reads them. */
export type RoleCheck = RequestHandler & { readonly roles: readonly Role[] };

export function requireRole(...roles: Role[]): RoleCheck {
  const allowed: Role[] = ['admin', ...roles.filter((r) => r !== 'admin')];
  const check: RequestHandler = (req, _res, next) => {
    const role = req.principal?.role;
    if (!role) throw new UnauthorizedError();
    if (role !== 'admin' && !roles.includes(role)) throw new ForbiddenError(`this route needs one of the roles: ${allowed.join(', ')}`);
    next();
  };
  return Object.assign(check, { roles: allowed });
}

/** Route groups by role, so every router says who may call it in one word. */
export const can = {
  read: requireRole('viewer', 'editor'),
  edit: requireRole('editor'),
  ingest: requireRole('ingest', 'editor'),
  admin: requireRole('admin'),
};
