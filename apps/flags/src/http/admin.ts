/**
 * Who may change flags: a principal the gateway verified (x-auth-sub,
 * x-auth-roles; it drops any a client sends) with the `admin` role. The
 * subject is the actor the audit trail records.
 */
import type { Request, RequestHandler } from 'express';
import { flagsError } from '../errors.ts';

export const ADMIN_ROLE = 'admin';

export const requireAdmin: RequestHandler = (req, _res, next) => {
  const roles = (req.get('x-auth-roles') ?? '').split(',').map((r) => r.trim());
  if (!req.get('x-auth-sub') || !roles.includes(ADMIN_ROLE)) {
    next(flagsError('FLAGS_ADMIN_ONLY', `flag writes need the ${ADMIN_ROLE} role`, { role: ADMIN_ROLE }));
    return;
  }
  next();
};

/** The verified subject of an admin route (requireAdmin ran). */
export const actorOf = (req: Request): string => req.get('x-auth-sub')!;

/** The headers the admin routes read, for /openapi.json. */
export const ADMIN_HEADERS = [
  { name: 'x-auth-sub', description: 'The verified subject (set by the gateway); recorded as the actor of the change.', required: true },
  { name: 'x-auth-roles', description: 'Comma-separated verified roles (set by the gateway); must include admin.', required: true },
] as const;
