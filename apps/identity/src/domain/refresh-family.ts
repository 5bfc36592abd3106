/**
 * What presenting a refresh token does to its family (the session), pure.
 * A family is one login: every refresh replaces its newest token by a new
 * one. Presenting a token that was already replaced means two parties hold
 * the family (a stolen token, or a client that lost an answer): the whole
 * family is revoked and both must log in again. docs/DECISIONS.md explains
 * why there is no grace period for a concurrent double refresh.
 */

export interface PresentedToken {
  /** When this token was exchanged for its successor; null while it is the family's newest. */
  rotatedAt: Date | null;
  expiresAt: Date;
}

export interface Family {
  revokedAt: Date | null;
  expiresAt: Date;
}

export type RefreshDecision =
  | { action: 'rotate' }
  /** The token was used before: revoke the family. */
  | { action: 'revoke-family'; reason: 'reuse' }
  | { action: 'refuse'; reason: 'unknown' | 'revoked' | 'expired' };

export function decideRefresh(token: PresentedToken | undefined, family: Family | undefined, now: Date): RefreshDecision {
  if (!token || !family) return { action: 'refuse', reason: 'unknown' };
  if (family.revokedAt !== null) return { action: 'refuse', reason: 'revoked' };
  // Reuse is judged before expiry: an old stolen token replayed late still says the family is compromised.
  if (token.rotatedAt !== null) return { action: 'revoke-family', reason: 'reuse' };
  if (token.expiresAt <= now || family.expiresAt <= now) return { action: 'refuse', reason: 'expired' };
  return { action: 'rotate' };
}
