/**
 * Access tokens: ES256 JWTs (RFC 9068 `at+jwt`) signed with the key ring's
 * current key. Claims: sub (user id), tenant (tenant id), roles (array),
 * scope, sid (session id), iss, aud, iat, exp, jti; the header names the kid.
 * These are the claims the gateway reads (JWT_TENANT_CLAIM=tenant,
 * JWT_ROLES_CLAIM=roles, algorithms allow-list with ES256).
 */
import { randomUUID } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { identityError } from '../errors.ts';
import type { KeyRing } from './key-ring.ts';

export interface TokenSettings {
  issuer: string;
  audience: string;
  ttlSeconds: number;
  clockToleranceS: number;
  scope: string;
}

export interface AccessClaims {
  sub: string;
  tenant: string;
  roles: string[];
  scope: string;
  sid: string;
}

export async function issueAccessToken(ring: KeyRing, settings: TokenSettings, claims: Omit<AccessClaims, 'scope'>, scope = settings.scope): Promise<{ token: string; expiresIn: number }> {
  const signing = await ring.signingKey();
  const iat = Math.floor(ring.now() / 1000);
  const token = await new SignJWT({ tenant: claims.tenant, roles: claims.roles, scope, sid: claims.sid })
    .setProtectedHeader({ alg: signing.alg, kid: signing.kid, typ: 'at+jwt' })
    .setSubject(claims.sub)
    .setIssuer(settings.issuer)
    .setAudience(settings.audience)
    .setIssuedAt(iat)
    .setExpirationTime(iat + settings.ttlSeconds)
    .setJti(randomUUID())
    .sign(signing.key);
  return { token, expiresIn: settings.ttlSeconds };
}

function unauthenticated(description: string, cause?: unknown) {
  return identityError('IDENTITY_UNAUTHENTICATED', description, { headers: { 'www-authenticate': `Bearer error="invalid_token", error_description="${description}"` }, cause });
}

/** Verifies a bearer token against the published keys; 401 with a Bearer challenge otherwise. */
export async function verifyAccessToken(ring: KeyRing, settings: TokenSettings, authorization: string | undefined): Promise<AccessClaims> {
  if (authorization === undefined) throw identityError('IDENTITY_UNAUTHENTICATED', 'this route requires a bearer token', { headers: { 'www-authenticate': 'Bearer' } });
  const match = /^Bearer +([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)$/.exec(authorization);
  if (!match) throw unauthenticated('malformed bearer token');
  try {
    const { payload } = await jwtVerify(match[1]!, ring.verifier(), {
      algorithms: ['ES256'],
      issuer: settings.issuer,
      audience: settings.audience,
      clockTolerance: settings.clockToleranceS,
      currentDate: new Date(ring.now()),
      typ: 'at+jwt',
    });
    const { sub, tenant, roles, scope, sid } = payload as Record<string, unknown>;
    if (typeof sub !== 'string' || typeof tenant !== 'string' || typeof sid !== 'string' || !Array.isArray(roles)) throw unauthenticated('token lacks identity claims');
    return { sub, tenant, sid, roles: roles.filter((r): r is string => typeof r === 'string'), scope: typeof scope === 'string' ? scope : '' };
  } catch (err) {
    if (err instanceof joseErrors.JWTExpired) throw unauthenticated('token expired', err);
    if (err instanceof joseErrors.JOSEError) throw unauthenticated('token invalid', err);
    throw err;
  }
}
