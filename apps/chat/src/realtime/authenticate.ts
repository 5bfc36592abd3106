/**
 * Who a WebSocket connection is: identity's access token from the upgrade
 * (Authorization: Bearer …, or ?access_token= where a browser cannot set
 * headers), verified with the service kit's verifier; its expiry and session
 * id for the long-lived checks; and the close code each refusal maps to.
 */
import { decodeJwt } from 'jose';
import { AppError } from '@bulwark/errors';
import type { Principal, TokenVerifier } from '@bulwark/service-kit/service-auth';
import { CLOSE } from './protocol.ts';

export interface Authenticated {
  principal: Principal & { tenant: string };
  /** `Bearer …` as verified (identity's session check sends it). */
  authorization: string;
  /** Expiry (ms since epoch). */
  expiresAt: number;
}

/** A refusal carrying the close code that ends the connection. */
export class ConnectionRefused extends Error {
  readonly code: number;
  constructor(code: number, reason: string) {
    super(reason);
    this.code = code;
  }
}

export function refusalOf(err: unknown): ConnectionRefused {
  if (err instanceof ConnectionRefused) return err;
  if (err instanceof AppError) {
    if (err.code === 'TOKEN_MISSING') return new ConnectionRefused(CLOSE.TOKEN_MISSING, 'token missing');
    if (err.code === 'TOKEN_INVALID') return err.message === 'token expired' ? new ConnectionRefused(CLOSE.TOKEN_EXPIRED, 'token expired') : new ConnectionRefused(CLOSE.TOKEN_INVALID, 'token invalid');
    if (err.code === 'AUTH_UNAVAILABLE') return new ConnectionRefused(CLOSE.AUTH_UNAVAILABLE, 'authentication unavailable');
  }
  return new ConnectionRefused(CLOSE.AUTH_UNAVAILABLE, 'authentication failed');
}

/** The Authorization value of an upgrade request: the header, else ?access_token=. */
export function authorizationOf(headers: Record<string, string | string[] | undefined>, url: URL): string | undefined {
  const header = headers.authorization;
  if (typeof header === 'string' && header !== '') return header;
  const token = url.searchParams.get('access_token');
  return token ? `Bearer ${token}` : undefined;
}

/** Verifies the token; `tenant` is the one the connection names (?tenant=, the gateway's x-auth-tenant), if any. */
export async function authenticate(verifier: TokenVerifier, authorization: string | undefined, tenant: string | undefined): Promise<Authenticated> {
  let principal: Principal;
  try {
    principal = await verifier.verify(authorization);
  } catch (err) {
    throw refusalOf(err);
  }
  if (principal.tenant === undefined || (tenant !== undefined && tenant !== principal.tenant)) throw new ConnectionRefused(CLOSE.TENANT_MISMATCH, 'token of another tenant');
  const { exp } = decodeJwt(authorization!.replace(/^Bearer +/, ''));
  return { principal: principal as Principal & { tenant: string }, authorization: authorization!, expiresAt: typeof exp === 'number' ? exp * 1000 : Number.MAX_SAFE_INTEGER };
}

/** identity's answer on the token's session: false when it says the session is over (401), true otherwise (identity away keeps connections). */
export async function sessionLive(identityUrl: string, authorization: string): Promise<boolean> {
  try {
    const res = await fetch(new URL('/v1/me', identityUrl), { headers: { authorization }, signal: AbortSignal.timeout(3_000) });
    await res.body?.cancel();
    return res.status !== 401;
  } catch {
    return true;
  }
}
