/**
 * The secrets API. Admin routes (through the gateway: a verified subject
 * with the `admin` role, the tenant from x-auth-tenant) write versions,
 * list them, disable one, read a value and manage access policies. The
 * internal read route serves other services: a client-credentials token
 * from identity (requireServiceToken), the tenant they name in
 * x-auth-tenant, and an access policy of that tenant for their client id.
 * Names with `/` travel percent-encoded in the path (`payments%2Fpsp-key`).
 */
import type { Request, RequestHandler } from 'express';
import { z } from 'zod';
import type { RouteRegistrar } from '@bulwark/service-kit';
import { principalOf, requireServiceToken, SERVICE_TOKEN_ERRORS, SERVICE_TOKEN_HEADERS, type TokenVerifier } from '@bulwark/service-kit/service-auth';
import type { Actor, SecretsContext } from '../domain/context.ts';
import { NAME_PATTERN, POLICY_PATTERN } from '../domain/policy.ts';
import { disableSecretVersion, listAccessPolicies, listSecretVersions, readSecret, setAccessPolicy, writeSecret, type VersionInfo } from '../domain/secrets.ts';
import { secretsError } from '../errors.ts';

export const ADMIN_ROLE = 'admin';

const requireAdmin: RequestHandler = (req, _res, next) => {
  const roles = (req.get('x-auth-roles') ?? '').split(',').map((r) => r.trim());
  if (!req.get('x-auth-sub') || !roles.includes(ADMIN_ROLE)) {
    next(secretsError('SECRETS_ADMIN_ONLY', `managing secrets needs the ${ADMIN_ROLE} role`, { role: ADMIN_ROLE }));
    return;
  }
  next();
};
const adminOf = (req: Request): Actor => ({ kind: 'admin', sub: req.get('x-auth-sub')! });

const ADMIN_HEADERS = [
  { name: 'x-auth-sub', description: 'The verified subject (set by the gateway); recorded as the actor.', required: true },
  { name: 'x-auth-roles', description: 'Comma-separated verified roles (set by the gateway); must include admin.', required: true },
  { name: 'x-auth-tenant', description: 'The verified tenant (set by the gateway): secrets of this tenant only.', required: true },
] as const;
const admin = { headers: ADMIN_HEADERS, middleware: [requireAdmin], tags: ['secrets'] };
const adminErrors = (...codes: string[]) => ['SECRETS_ADMIN_ONLY', 'SECRETS_TENANT_REQUIRED', ...codes];

const Name = z.string().regex(NAME_PATTERN).describe('Secret name: lower-case segments joined by `/` (percent-encoded in the path), e.g. `payments/psp-key`.');
const Version = z.coerce.number().int().min(1).max(2_147_483_647);
const NameParams = z.object({ name: Name });
const Info = z.object({
  name: z.string(),
  version: z.number().int(),
  createdAt: z.string(),
  createdBy: z.string(),
  disabledAt: z.string().nullable(),
  kekVersion: z.number().int().describe('The key-encryption key version that wraps this version\'s data key.'),
});
const ValueResponse = Info.extend({ value: z.string() });
const ClientId = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/).describe('An identity client id (the `sub` of its service tokens).');
const Policy = z.object({ clientId: z.string(), patterns: z.array(z.string()), updatedBy: z.string(), updatedAt: z.string() });

const infoJson = (v: VersionInfo): z.output<typeof Info> => ({ name: v.name, version: v.version, createdAt: v.createdAt.toISOString(), createdBy: v.createdBy, disabledAt: v.disabledAt?.toISOString() ?? null, kekVersion: v.kekVersion });
const noStore = { 'cache-control': 'no-store' };

export function registerSecretsRoutes(r: RouteRegistrar, ctx: SecretsContext, verifier: TokenVerifier): void {
  r.put('/v1/secrets/:name', {
    ...admin,
    summary: 'Store a new version of a secret (the first creates it); audited',
    errors: adminErrors('SECRETS_VALUE_TOO_LARGE'),
    params: NameParams,
    body: z.object({ value: z.string().min(1).max(1_000_000) }),
    responses: { 201: Info },
    handler: async ({ params, body, req }) => ({ status: 201, body: infoJson(await writeSecret(ctx, adminOf(req), params.name, body.value)) }),
  });

  r.get('/v1/secrets/:name', {
    ...admin,
    summary: "A version's value (default the latest), for an admin; audited",
    errors: adminErrors('SECRETS_NOT_FOUND', 'SECRETS_VERSION_DISABLED'),
    params: NameParams,
    query: z.object({ version: Version.optional() }),
    responses: { 200: ValueResponse },
    handler: async ({ params, query, req }) => {
      const v = await readSecret(ctx, adminOf(req), params.name, query.version);
      return { status: 200, body: { ...infoJson(v), value: v.value }, headers: noStore };
    },
  });

  r.get('/v1/secrets/:name/versions', {
    ...admin,
    summary: "A secret's versions, newest first, without values",
    errors: adminErrors('SECRETS_NOT_FOUND'),
    params: NameParams,
    responses: { 200: z.object({ versions: z.array(Info) }) },
    handler: async ({ params }) => ({ status: 200, body: { versions: (await listSecretVersions(ctx, params.name)).map(infoJson) } }),
  });

  r.post('/v1/secrets/:name/versions/:version/disable', {
    ...admin,
    summary: 'Disable a version for good (never served again); audited',
    errors: adminErrors('SECRETS_NOT_FOUND'),
    params: z.object({ name: Name, version: Version }),
    responses: { 200: Info },
    handler: async ({ params, req }) => ({ status: 200, body: infoJson(await disableSecretVersion(ctx, adminOf(req), params.name, params.version)) }),
  });

  r.put('/v1/secret-policies/:clientId', {
    ...admin,
    summary: 'Replace which secret names a service (identity client id) may read in this tenant; audited',
    errors: adminErrors(),
    params: z.object({ clientId: ClientId }),
    body: z.object({ patterns: z.array(z.string().regex(POLICY_PATTERN)).max(100).describe('Exact names, `prefix/*`, or `*`; [] revokes everything.') }),
    responses: { 204: null },
    handler: async ({ params, body, req }) => {
      await setAccessPolicy(ctx, adminOf(req), params.clientId, body.patterns);
      return { status: 204 };
    },
  });

  r.get('/v1/secret-policies', {
    ...admin,
    summary: "The tenant's access policies",
    errors: adminErrors(),
    responses: { 200: z.object({ policies: z.array(Policy) }) },
    handler: async () => ({ status: 200, body: { policies: (await listAccessPolicies(ctx)).map((p) => ({ ...p, updatedAt: p.updatedAt.toISOString() })) } }),
  });

  r.get('/v1/internal/secrets/:name', {
    summary: "A version's value (default the latest) for a service its tenant's access policy allows; service token required; audited",
    tags: ['secrets'],
    headers: [...SERVICE_TOKEN_HEADERS, { name: 'x-auth-tenant', description: 'The tenant whose secret is read.', required: true }],
    middleware: [requireServiceToken(verifier)],
    errors: [...SERVICE_TOKEN_ERRORS, 'SECRETS_TENANT_REQUIRED', 'SECRETS_ACCESS_DENIED', 'SECRETS_NOT_FOUND', 'SECRETS_VERSION_DISABLED'],
    params: NameParams,
    query: z.object({ version: Version.optional() }),
    responses: { 200: ValueResponse },
    handler: async ({ params, query, req }) => {
      const v = await readSecret(ctx, { kind: 'service', sub: principalOf(req)!.clientId! }, params.name, query.version);
      return { status: 200, body: { ...infoJson(v), value: v.value }, headers: noStore };
    },
  });
}
