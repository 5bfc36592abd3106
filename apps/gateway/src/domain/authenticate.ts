/**
 * Access-token verification with jose against a remote JWKS: keys are cached,
 * refetched when a token names an unknown `kid` (at most once per cooldown),
 * so the identity service can rotate keys without a gateway restart. Only
 * asymmetric algorithms from the allow-list are accepted (never `none`, never
 * HS*, so an HS256 token "signed" with a public key is refused before any
 * key is looked up).
 *
 * Verified tokens are remembered (exact token string → principal) until the
 * earlier of their `exp` and `cacheTtlMs`, in a bounded map: a client sends
 * the same access token for every request of its lifetime, and an ES256/RS256
 * signature check costs far more than the proxying around it. Only successful
 * verifications are kept; a key withdrawn from the JWKS stops being honoured
 * for cached tokens within `cacheTtlMs` (it stays in jose's key cache for up to
 * JWKS_CACHE_MAX_AGE_MS anyway).
 */
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { gatewayError } from '../errors.ts';

export interface Principal {
  sub: string;
  tenant: string | undefined;
  roles: string[];
}

export interface AuthenticatorOptions {
  jwksUrl: string;
  algorithms: string[];
  issuer?: string | undefined;
  audience?: string | undefined;
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

function bearerChallenge(description: string): Record<string, string> {
  // The description is ours (never the token), so quoting it is safe; strip quotes anyway.
  return { 'www-authenticate': `Bearer error="invalid_token", error_description="${description.replace(/["\\\r\n]/g, '')}"` };
}

function invalid(description: string, cause?: unknown) {
  return gatewayError('TOKEN_INVALID', description, { headers: bearerChallenge(description), cause });
}

function rolesOf(payload: JWTPayload, claim: string): string[] {
  const value = payload[claim];
  if (Array.isArray(value)) return value.filter((r): r is string => typeof r === 'string');
  if (typeof value === 'string') return value.split(' ').filter(Boolean);
  return [];
}

/** Header values we forward must be plain visible ASCII: claims are attacker-chosen text. */
const SAFE_CLAIM = /^[\x21-\x7e]{1,256}$/;

export function createAuthenticator(options: AuthenticatorOptions): Authenticator {
  const jwks = createRemoteJWKSet(new URL(options.jwksUrl), { cooldownDuration: options.cooldownMs, cacheMaxAge: options.cacheMaxAgeMs, timeoutDuration: 2000 });
  const verifyOptions = {
    algorithms: options.algorithms,
    clockTolerance: options.clockToleranceS,
    ...(options.issuer ? { issuer: options.issuer } : {}),
    ...(options.audience ? { audience: options.audience } : {}),
  };
  const cache = new VerifiedTokenCache(options.cacheTtlMs ?? 30_000, options.cacheMaxEntries ?? 10_000, options.clockToleranceS * 1000);
  const verify = async (authorization: string): Promise<Principal> => {
    const match = /^Bearer +([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)$/.exec(authorization);
    if (!match) throw invalid('malformed bearer token');
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(match[1]!, jwks, verifyOptions));
    } catch (err) {
      throw mapJoseError(err);
    }
    const sub = payload.sub;
    if (typeof sub !== 'string' || !SAFE_CLAIM.test(sub)) throw invalid('token has no usable sub claim');
    const tenantValue = payload[options.tenantClaim];
    const tenant = typeof tenantValue === 'string' && SAFE_CLAIM.test(tenantValue) ? tenantValue : undefined;
    const roles = rolesOf(payload, options.rolesClaim).filter((r) => SAFE_CLAIM.test(r) && !r.includes(','));
    const principal: Principal = Object.freeze({ sub, tenant, roles: Object.freeze(roles) as string[] });
    cache.set(authorization, principal, payload.exp);
    return principal;
  };
  return (authorization, connection) => {
    if (authorization === undefined) return undefined;
    return cache.get(authorization, connection) ?? verify(authorization);
  };
}

interface VerifiedEntry {
  readonly principal: Principal;
  readonly until: number;
}

/**
 * Verified Authorization values → principal, each until min(exp + tolerance,
 * now + ttl). A keep-alive connection sends the same token on every request:
 * the entry it got last is remembered per connection (weakly), and a request
 * whose header equals that token is answered by a string comparison, not by
 * hashing a ~300-character header for the map. The remembered entry keeps its
 * own `until`, so it is honoured no longer than the map would have.
 */
export class VerifiedTokenCache {
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #toleranceMs: number;
  readonly #now: () => number;
  readonly #entries = new Map<string, VerifiedEntry>();
  readonly #byConnection = new WeakMap<object, { authorization: string; entry: VerifiedEntry }>();

  constructor(ttlMs: number, maxEntries: number, toleranceMs: number, now: () => number = Date.now) {
    this.#ttlMs = ttlMs;
    this.#maxEntries = maxEntries;
    this.#toleranceMs = toleranceMs;
    this.#now = now;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(authorization: string, connection?: object): Principal | undefined {
    if (connection !== undefined) {
      const last = this.#byConnection.get(connection);
      if (last !== undefined && last.authorization === authorization) {
        if (this.#now() < last.entry.until) return last.entry.principal;
        this.#byConnection.delete(connection);
      }
    }
    const entry = this.#entries.get(authorization);
    if (entry === undefined) return undefined;
    if (this.#now() < entry.until) {
      if (connection !== undefined) this.#byConnection.set(connection, { authorization, entry });
      return entry.principal;
    }
    this.#entries.delete(authorization);
    return undefined;
  }

  /** `exp` in seconds (JWT NumericDate); a token without one is kept for the TTL. */
  set(authorization: string, principal: Principal, exp: number | undefined): void {
    if (this.#ttlMs <= 0 || this.#maxEntries <= 0) return;
    const now = this.#now();
    const until = Math.min(now + this.#ttlMs, exp === undefined ? Infinity : exp * 1000 + this.#toleranceMs);
    if (until <= now) return;
    if (this.#entries.size >= this.#maxEntries) this.#entries.delete(this.#entries.keys().next().value!); // the oldest insertion
    this.#entries.set(authorization, { principal, until });
  }
}

function mapJoseError(err: unknown) {
  if (err instanceof joseErrors.JWTExpired) return invalid('token expired', err);
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return invalid('token algorithm not allowed', err);
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return invalid('signature verification failed', err);
  if (err instanceof joseErrors.JWKSNoMatchingKey) return invalid('no key matches the token', err);
  if (err instanceof joseErrors.JWTClaimValidationFailed) return invalid(`claim check failed: ${err.claim}`, err);
  if (err instanceof joseErrors.JWKSTimeout || err instanceof joseErrors.JWKSInvalid) {
    return gatewayError('AUTH_UNAVAILABLE', 'the key set could not be fetched', { retryAfterSeconds: 1, cause: err });
  }
  if (err instanceof joseErrors.JOSEError) return invalid('malformed token', err);
  // fetch failures (JWKS endpoint down) surface as plain errors
  return gatewayError('AUTH_UNAVAILABLE', 'the key set could not be fetched', { retryAfterSeconds: 1, cause: err });
}

/** Throws 403 ROLE_MISSING unless the principal has every required role. */
export function assertHasRoles(principal: Principal, required: readonly string[]): void {
  const missing = required.filter((r) => !principal.roles.includes(r));
  if (missing.length > 0) throw gatewayError('ROLE_MISSING', `missing role${missing.length > 1 ? 's' : ''}: ${missing.join(', ')}`, { extensions: { requiredRoles: required } });
}

/** 403 TENANT_MISSING: a tenant route and a token that names no tenant. */
export function tenantMissing() {
  return gatewayError('TENANT_MISSING', 'this route acts on the tenant of the token, and the token has none');
}

export function tokenMissing() {
  return gatewayError('TOKEN_MISSING', 'this route requires a bearer token', { headers: { 'www-authenticate': 'Bearer' } });
}
