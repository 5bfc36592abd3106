/**
 * Who may write the catalog: a principal the gateway verified (x-auth-sub,
 * x-auth-roles; it drops any a client sends) with the `admin` role. Unlike
 * orders, a call without a principal is refused too: catalog writes have no
 * service-to-service caller.
 */
import type { RequestHandler } from 'express';
import { catalogError } from '../errors.ts';

export const ADMIN_ROLE = 'admin';

export const requireAdmin: RequestHandler = (req, _res, next) => {
  const roles = (req.get('x-auth-roles') ?? '').split(',').map((r) => r.trim());
  if (!req.get('x-auth-sub') || !roles.includes(ADMIN_ROLE)) {
    next(catalogError('CATALOG_ADMIN_ONLY', `catalog writes need the ${ADMIN_ROLE} role`, { role: ADMIN_ROLE }));
    return;
  }
  next();
};

/** The headers the admin routes read, for /openapi.json. */
export const ADMIN_HEADERS = [
  { name: 'x-auth-sub', description: 'The verified subject (set by the gateway).', required: true },
  { name: 'x-auth-roles', description: 'Comma-separated verified roles (set by the gateway); must include admin.', required: true },
] as const;
