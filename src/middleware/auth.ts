// Who is calling, and role checks. Admin may do everything; other roles are listed per route.
// The principal is set by the API-key authentication (src/modules/api-keys/authenticate.ts); this file
// imports no module, so every module's router may use `can` (no import cycle through api-keys).
import type { RequestHandler } from 'express';
import { ForbiddenError, UnauthorizedError } from '../lib/errors';

export const ROLES = ['admin', 'editor', 'viewer', 'ingest'] as const;
export type Role = (typeof ROLES)[number];

/** The caller of an authenticated request. */
export interface Principal {
  id: string;
  name: string;
  role: Role;
}

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal;
  }
}

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
