/**
 * The internal API: routes for other services, not for people. Every one
 * requires a client-credentials token with the `service` role
 * (@bulwark/service-kit/service-auth), verified against identity's own key
 * ring. The gateway's routes file has no entry for /v1/internal, so these
 * are reachable only inside the cluster.
 */
import type { RouteRegistrar } from '@bulwark/service-kit';
import { requireServiceToken, SERVICE_TOKEN_ERRORS, SERVICE_TOKEN_HEADERS, type TokenVerifier } from '@bulwark/service-kit/service-auth';
import { getAccountContact } from '../domain/account-contacts.ts';
import type { IdentityContext } from '../domain/context.ts';
import { AccountContactResponse, AccountIdParams } from './schemas.ts';

export function registerInternalRoutes(r: RouteRegistrar, ctx: IdentityContext, verifier: TokenVerifier, clients: readonly string[]): void {
  r.get('/v1/internal/accounts/:id', {
    summary: "An account's contact details (email, name, locale) for a service writing to its holder; service token required",
    errors: [...SERVICE_TOKEN_ERRORS, 'IDENTITY_ACCOUNT_NOT_FOUND'],
    headers: SERVICE_TOKEN_HEADERS,
    params: AccountIdParams,
    middleware: [requireServiceToken(verifier, { clients })],
    responses: { 200: AccountContactResponse },
    handler: async ({ params }) => ({ status: 200, body: await getAccountContact(ctx, params.id), headers: { 'cache-control': 'private, no-store' } }),
  });
}
