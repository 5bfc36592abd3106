/**
 * The gateway's use of the platform's one token verifier
 * (`@bulwark/service-kit/service-auth`): jose against identity's remote JWKS
 * (keys cached, refetched on an unknown `kid` at most once per cooldown, so
 * identity rotates keys without a gateway restart), only the configured
 * asymmetric algorithms (never `none`, never HS*, so an HS256 token "signed"
 * with a public key is refused before any key is looked up), and the kit's
 * verified-token cache: a client's repeated token is answered synchronously
 * (per connection by a string comparison), so an anonymous or cached-token
 * request takes no promise hop. What stays here is the gateway's shape: no
 * Authorization is no principal (the route decides whether that is a 401),
 * and the tenant refusal of tenant-scoped routes.
 */
import { createTokenVerifier, type Principal } from '@bulwark/service-kit/service-auth';
import { gatewayError } from '../errors.ts';

export { assertRoles as assertHasRoles, tokenMissing, type Principal } from '@bulwark/service-kit/service-auth';

export interface AuthenticatorOptions {
  jwksUrl: string;
  algorithms: readonly string[];
  issuer: string | undefined;
  audience: string | undefined;
  clockToleranceS: number;
  cooldownMs: number;
  cacheMaxAgeMs: number;
  tenantClaim: string;
  rolesClaim: string;
  /** Longest time a verified token is served from the cache; 0 disables the cache. */
  cacheTtlMs?: number;
  /** Most tokens kept; the oldest entry goes first when full. */
  cacheMaxEntries?: number;
}

/**
 * Synchronous for a token verified recently (the cache), a promise otherwise.
 * `connection` (the client's socket) lets the cache answer a connection's
 * repeated token by comparing it with the one it sent last, without hashing it.
 */
export type Authenticator = (authorization: string | undefined, connection?: object) => Principal | undefined | Promise<Principal | undefined>;

export function createAuthenticator(options: AuthenticatorOptions): Authenticator {
  const verifier = createTokenVerifier({
    jwksUrl: options.jwksUrl,
    algorithms: options.algorithms,
    issuer: options.issuer,
    audience: options.audience,
    clockToleranceS: options.clockToleranceS,
    cooldownMs: options.cooldownMs,
    cacheMaxAgeMs: options.cacheMaxAgeMs,
    tenantClaim: options.tenantClaim,
    rolesClaim: options.rolesClaim,
    cache: { ttlMs: options.cacheTtlMs ?? 30_000, maxEntries: options.cacheMaxEntries ?? 10_000 },
  });
  return (authorization, connection) => {
    if (authorization === undefined) return undefined;
    return verifier.recall(authorization, connection) ?? verifier.verify(authorization);
  };
}

/** 403 TENANT_MISSING: a tenant route and a token that names no tenant. */
export function tenantMissing() {
  return gatewayError('TENANT_MISSING', 'this route acts on the tenant of the token, and the token has none');
}
