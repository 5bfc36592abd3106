/**
 * Bearer-token verification for services: ES256 (by default) JWTs from
 * identity, checked against its JWKS with jose (a remote key set, cached and
 * refetched on an unknown `kid` at most once per cooldown, so identity rotates
 * keys without restarts; or a local key set, identity's own key ring).
 * Issuer, audience, algorithms and optionally `typ` are checked; the claims
 * become a Principal. Optionally verified tokens are remembered until the
 * earlier of their `exp` and a TTL (verified-token-cache.ts), answered
 * synchronously by `recall` (the gateway's hot path, where a client sends one
 * token for its lifetime). Refusals are problem+json through the registry:
 * 401 TOKEN_MISSING / TOKEN_INVALID (with a Bearer challenge), 403
 * ROLE_MISSING, 403 CLIENT_NOT_ALLOWED (a service route that serves named
 * callers only), 503 AUTH_UNAVAILABLE when the key set cannot be fetched.
 * The gateway verifies its clients' tokens with this verifier too: one
 * verifier in the platform.
 *
 * Express is only a type here: the middleware works with any (req, res, next).
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { AppError, registerErrorCodes, type AppErrorOptions } from '@bulwark/errors';
import { VerifiedTokenCache } from './verified-token-cache.ts';

export const AUTH_ERROR_CODES = [
  { code: 'TOKEN_MISSING', status: 401, title: 'Authentication required', description: 'The route requires a Bearer access token; `WWW-Authenticate` says so.' },
  { code: 'TOKEN_INVALID', status: 401, title: 'Invalid access token', description: 'The token is malformed, expired, not yet valid, signed with a refused algorithm or an unknown key; get a new token.' },
  { code: 'ROLE_MISSING', status: 403, title: 'Insufficient role', description: 'The token is valid but lacks a role the route requires (`requiredRoles`).' },
  { code: 'CLIENT_NOT_ALLOWED', status: 403, title: 'Client not allowed', description: 'The service token is valid but its client is not one of the callers this route serves (`allowedClients`).' },
  { code: 'AUTH_UNAVAILABLE', status: 503, title: 'Authentication unavailable', description: 'The JWKS endpoint could not be reached to verify the token; retry shortly.' },
] as const;

registerErrorCodes(AUTH_ERROR_CODES);

type AuthErrorCode = (typeof AUTH_ERROR_CODES)[number]['code'];

function authError(code: AuthErrorCode, message: string, options: Omit<AppErrorOptions, 'status'> = {}): AppError {
  return new AppError(code, message, { status: AUTH_ERROR_CODES.find((c) => c.code === code)!.status, ...options });
}

/** Who called: the token's subject (an account id, or a client id for client credentials), tenant and roles. */
export interface Principal {
  readonly sub: string;
  readonly tenant: string | undefined;
  readonly roles: readonly string[];
  /** `client_id` of a client-credentials token (then equal to `sub`); undefined for a user's token. */
  readonly clientId: string | undefined;
}

export interface TokenVerifierOptions {
  /** identity's `/.well-known/jwks.json` (a remote key set); or `keys`. */
  jwksUrl?: string;
  /** A key set of one's own (identity verifying with its key ring); wins over `jwksUrl`. */
  keys?: JWTVerifyGetKey;
  /** Expected `iss`; undefined leaves it unchecked (the gateway's JWT_ISSUER may be unset), so say so explicitly. */
  issuer: string | undefined;
  /** Expected `aud` (one of them, for a list); undefined leaves it unchecked. */
  audience: string | readonly string[] | undefined;
  /** Asymmetric algorithms accepted; default ES256 (what identity signs with). */
  algorithms?: readonly string[];
  /** Required `typ` header, e.g. `at+jwt`; unchecked when unset. */
  typ?: string;
  clockToleranceS?: number;
  /** Remote key set: shortest gap between two refetches for unknown kids (default 30 s). */
  cooldownMs?: number;
  /** Remote key set: longest use of a fetched set (default 10 min). */
  cacheMaxAgeMs?: number;
  /** Remote key set: fetch timeout (default 2 s). */
  timeoutMs?: number;
  tenantClaim?: string;
  rolesClaim?: string;
  /** The verifier's clock (ms); default Date.now. */
  now?: () => number;
  /**
   * Remember verified tokens (exact Authorization value → principal) for at
   * most `ttlMs`, never past `exp`, at most `maxEntries` (oldest first). Off
   * when unset or either is 0. A key withdrawn from the JWKS stops being
   * honoured for remembered tokens within `ttlMs`.
   */
  cache?: { ttlMs: number; maxEntries: number };
}

export interface TokenVerifier {
  /** The principal of an `Authorization: Bearer …` value; throws the problem+json errors above. */
  verify(authorization: string | undefined): Promise<Principal>;
  /**
   * The principal of a token verified recently (the `cache` option), without
   * a promise; undefined when it is not remembered (then `verify`). A
   * `connection` (the client's socket) lets a repeated token be matched by a
   * comparison with the one it sent last.
   */
  recall(authorization: string, connection?: object): Principal | undefined;
}

/** 401 TOKEN_MISSING with a Bearer challenge: a route needs a token and the request has none. */
export function tokenMissing(): AppError {
  return authError('TOKEN_MISSING', 'this route requires a bearer token', { headers: { 'www-authenticate': 'Bearer' } });
}

/** Claim values become header values and log fields downstream: plain visible ASCII only. */
const SAFE_CLAIM = /^[\x21-\x7e]{1,256}$/;
const BEARER = /^Bearer +([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)$/;

function invalid(description: string, cause?: unknown): AppError {
  // The description is ours (never the token); strip quotes anyway.
  return authError('TOKEN_INVALID', description, { headers: { 'www-authenticate': `Bearer error="invalid_token", error_description="${description.replace(/["\\\r\n]/g, '')}"` }, cause });
}

function rolesOf(payload: JWTPayload, claim: string): string[] {
  const value = payload[claim];
  const roles = Array.isArray(value) ? value.filter((r): r is string => typeof r === 'string') : typeof value === 'string' ? value.split(' ') : [];
  return roles.filter((r) => SAFE_CLAIM.test(r) && !r.includes(','));
}

function mapJoseError(err: unknown): AppError {
  if (err instanceof joseErrors.JWTExpired) return invalid('token expired', err);
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return invalid('token algorithm not allowed', err);
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return invalid('signature verification failed', err);
  if (err instanceof joseErrors.JWKSNoMatchingKey) return invalid('no key matches the token', err);
  if (err instanceof joseErrors.JWTClaimValidationFailed) return invalid(`claim check failed: ${err.claim}`, err);
  if (err instanceof joseErrors.JWKSTimeout || err instanceof joseErrors.JWKSInvalid) return authError('AUTH_UNAVAILABLE', 'the key set could not be fetched', { cause: err, retryAfterSeconds: 1 });
  // A bare JOSEError (no subclass) is what the remote key set throws for a non-200 or non-JSON answer.
  if (err instanceof joseErrors.JOSEError && err.code === 'ERR_JOSE_GENERIC') return authError('AUTH_UNAVAILABLE', 'the key set could not be fetched', { cause: err, retryAfterSeconds: 1 });
  if (err instanceof joseErrors.JOSEError) return invalid('malformed token', err);
  // fetch failures (JWKS endpoint down) surface as plain errors
  return authError('AUTH_UNAVAILABLE', 'the key set could not be fetched', { cause: err, retryAfterSeconds: 1 });
}

export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  const keys =
    options.keys ??
    (options.jwksUrl
      ? createRemoteJWKSet(new URL(options.jwksUrl), { cooldownDuration: options.cooldownMs ?? 30_000, cacheMaxAge: options.cacheMaxAgeMs ?? 600_000, timeoutDuration: options.timeoutMs ?? 2_000 })
      : undefined);
  if (!keys) throw new Error('createTokenVerifier needs jwksUrl or keys');
  const tenantClaim = options.tenantClaim ?? 'tenant';
  const rolesClaim = options.rolesClaim ?? 'roles';
  const now = options.now;
  const clockTolerance = options.clockToleranceS ?? 5;
  const base = {
    algorithms: [...(options.algorithms ?? ['ES256'])],
    ...(options.issuer !== undefined ? { issuer: options.issuer } : {}),
    ...(options.audience !== undefined ? { audience: typeof options.audience === 'string' ? options.audience : [...options.audience] } : {}),
    clockTolerance,
    ...(options.typ ? { typ: options.typ } : {}),
  };
  const cache =
    options.cache && options.cache.ttlMs > 0 && options.cache.maxEntries > 0
      ? new VerifiedTokenCache<Principal>(options.cache.ttlMs, options.cache.maxEntries, clockTolerance * 1000, now)
      : undefined;
  return {
    recall: cache ? (authorization, connection) => cache.get(authorization, connection) : () => undefined,
    async verify(authorization) {
      if (authorization === undefined || authorization === '') throw tokenMissing();
      const remembered = cache?.get(authorization);
      if (remembered !== undefined) return remembered;
      const match = BEARER.exec(authorization);
      if (!match) throw invalid('malformed bearer token');
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(match[1]!, keys, now ? { ...base, currentDate: new Date(now()) } : base));
      } catch (err) {
        throw mapJoseError(err);
      }
      const { sub } = payload;
      if (typeof sub !== 'string' || !SAFE_CLAIM.test(sub)) throw invalid('token has no usable sub claim');
      const tenant = payload[tenantClaim];
      const clientId = payload.client_id;
      const principal: Principal = Object.freeze({
        sub,
        tenant: typeof tenant === 'string' && SAFE_CLAIM.test(tenant) ? tenant : undefined,
        roles: Object.freeze(rolesOf(payload, rolesClaim)),
        clientId: typeof clientId === 'string' && clientId === sub ? clientId : undefined,
      });
      cache?.set(authorization, principal, payload.exp);
      return principal;
    },
  };
}

/** Throws 403 ROLE_MISSING unless the principal has every required role. */
export function assertRoles(principal: Principal, required: readonly string[]): void {
  const missing = required.filter((r) => !principal.roles.includes(r));
  if (missing.length > 0) throw authError('ROLE_MISSING', `missing role${missing.length > 1 ? 's' : ''}: ${missing.join(', ')}`, { extensions: { requiredRoles: required } });
}

/** The role of client-credentials tokens (identity's service clients). */
export const SERVICE_ROLE = 'service';

/** The `errors` of a route behind requireServiceToken. */
export const SERVICE_TOKEN_ERRORS: readonly string[] = ['TOKEN_MISSING', 'TOKEN_INVALID', 'ROLE_MISSING', 'CLIENT_NOT_ALLOWED', 'AUTH_UNAVAILABLE'];

/** The `headers` of a route behind requireServiceToken (its OpenAPI request header). */
export const SERVICE_TOKEN_HEADERS = [{ name: 'authorization', required: true, description: 'Bearer access token of a service (client credentials grant at identity\'s /oidc/token, role `service`).' }] as const;

/** What a service route demands of its caller beyond a valid token. */
export interface ServiceTokenRequirements {
  /** Roles beyond `service`. */
  roles?: readonly string[];
  /**
   * The client ids this route serves (least privilege: inventory's
   * reservations serve orders, not every service); unset or empty serves
   * any service client.
   */
  clients?: readonly string[];
}

/**
 * A service's own token: verified, with the `service` role (and any further
 * `roles`), and issued by the client-credentials grant (`client_id` = `sub`),
 * so a user's token is refused even if someone gave an account the role;
 * with `clients`, only those clients (403 CLIENT_NOT_ALLOWED for another).
 */
export async function verifyServiceToken(verifier: TokenVerifier, authorization: string | undefined, requirements: ServiceTokenRequirements = {}): Promise<Principal> {
  const roles = requirements.roles ?? [];
  const principal = await verifier.verify(authorization);
  assertRoles(principal, [SERVICE_ROLE, ...roles]);
  if (principal.clientId === undefined) throw authError('ROLE_MISSING', 'a service token (client credentials) is required', { extensions: { requiredRoles: [SERVICE_ROLE, ...roles] } });
  const clients = requirements.clients ?? [];
  if (clients.length > 0 && !clients.includes(principal.clientId)) {
    throw authError('CLIENT_NOT_ALLOWED', `client ${principal.clientId} may not call this route`, { extensions: { allowedClients: clients } });
  }
  return principal;
}

const principals = new WeakMap<object, Principal>();

/** The principal `requireServiceToken` verified for this request. */
export function principalOf(req: Request): Principal | undefined {
  return principals.get(req);
}

/**
 * Route middleware (`middleware: [requireServiceToken(verifier)]`): refuses
 * the request unless it carries a service token (verifyServiceToken); the
 * handler reads the caller with `principalOf(req)`. Declare
 * SERVICE_TOKEN_ERRORS in the route's `errors`.
 */
export function requireServiceToken(verifier: TokenVerifier, requirements: ServiceTokenRequirements = {}): RequestHandler {
  return (req: Request, _res: Response, next: NextFunction) => {
    verifyServiceToken(verifier, req.get('authorization'), requirements).then(
      (principal) => {
        principals.set(req, principal);
        next();
      },
      (err: unknown) => next(err),
    );
  };
}
