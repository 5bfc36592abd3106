/**
 * SQL of one-time tokens, sessions and refresh tokens. Tokens are looked up
 * by their SHA-256 hash only; the tokens themselves are never stored.
 */
import type { Queryable } from '@bulwark/db';

export type OneTimePurpose = 'verify-email' | 'reset-password';
export type RevokeReason = 'logout' | 'reuse' | 'password-reset';

export async function insertOneTimeToken(db: Queryable, t: { hash: Buffer; userId: string; purpose: OneTimePurpose; ttlSeconds: number }): Promise<void> {
  await db.query({
    name: 'identity.insert_one_time_token',
    text: `INSERT INTO one_time_tokens (token_hash, user_id, purpose, expires_at) VALUES ($1, $2, $3, now() + make_interval(secs => $4))`,
    values: [t.hash, t.userId, t.purpose, t.ttlSeconds],
  });
}

/** Uses the token once: the user id when it was unused and unexpired, else undefined (and nothing changes). */
export async function consumeOneTimeToken(db: Queryable, hash: Buffer, purpose: OneTimePurpose): Promise<string | undefined> {
  const { rows } = await db.query<{ user_id: string }>({
    name: 'identity.consume_one_time_token',
    text: `UPDATE one_time_tokens SET used_at = now() WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > now() RETURNING user_id`,
    values: [hash, purpose],
  });
  return rows[0]?.user_id;
}

/** Voids every unused token of the user for `purpose` (a new reset token voids the older ones). */
export async function voidOneTimeTokens(db: Queryable, userId: string, purpose: OneTimePurpose): Promise<void> {
  await db.query({ name: 'identity.void_one_time_tokens', text: 'UPDATE one_time_tokens SET used_at = now() WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL', values: [userId, purpose] });
}

export async function insertSession(db: Queryable, s: { id: string; userId: string; maxAgeSeconds: number }): Promise<{ expiresAt: Date }> {
  const { rows } = await db.query<{ expires_at: Date }>({
    name: 'identity.insert_session',
    text: 'INSERT INTO sessions (id, user_id, expires_at) VALUES ($1, $2, now() + make_interval(secs => $3)) RETURNING expires_at',
    values: [s.id, s.userId, s.maxAgeSeconds],
  });
  return { expiresAt: rows[0]!.expires_at };
}

/** A refresh token expires after its TTL or with its session, whichever is first. */
export async function insertRefreshToken(db: Queryable, t: { hash: Buffer; sessionId: string; generation: number; ttlSeconds: number }): Promise<{ expiresAt: Date }> {
  const { rows } = await db.query<{ expires_at: Date }>({
    name: 'identity.insert_refresh_token',
    text: `INSERT INTO refresh_tokens (token_hash, session_id, generation, expires_at)
           SELECT $1, $2, $3, least(now() + make_interval(secs => $4), s.expires_at) FROM sessions s WHERE s.id = $2
           RETURNING expires_at`,
    values: [t.hash, t.sessionId, t.generation, t.ttlSeconds],
  });
  return { expiresAt: rows[0]!.expires_at };
}

export interface RefreshTokenState {
  sessionId: string;
  userId: string;
  generation: number;
  rotatedAt: Date | null;
  expiresAt: Date;
  session: { revokedAt: Date | null; expiresAt: Date };
  /** The database's clock, to judge expiry on the same clock that set it. */
  now: Date;
}

/**
 * The token and its session, the session row locked (FOR UPDATE): refreshes
 * of one family are serialised, so two uses of the same token cannot both
 * rotate it.
 */
export async function lockRefreshToken(db: Queryable, hash: Buffer): Promise<RefreshTokenState | undefined> {
  const { rows } = await db.query<{ session_id: string; user_id: string; generation: number; rotated_at: Date | null; expires_at: Date; revoked_at: Date | null; session_expires_at: Date; now: Date }>({
    name: 'identity.lock_refresh_token',
    text: `SELECT t.session_id, s.user_id, t.generation, t.rotated_at, t.expires_at, s.revoked_at, s.expires_at AS session_expires_at, now() AS now
           FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id WHERE t.token_hash = $1 FOR UPDATE OF s, t`,
    values: [hash],
  });
  const r = rows[0];
  if (!r) return undefined;
  return { sessionId: r.session_id, userId: r.user_id, generation: r.generation, rotatedAt: r.rotated_at, expiresAt: r.expires_at, session: { revokedAt: r.revoked_at, expiresAt: r.session_expires_at }, now: r.now };
}

export async function markRotated(db: Queryable, hash: Buffer): Promise<void> {
  await db.query({ name: 'identity.mark_rotated', text: 'UPDATE refresh_tokens SET rotated_at = now() WHERE token_hash = $1', values: [hash] });
}

export async function revokeSession(db: Queryable, sessionId: string, reason: RevokeReason): Promise<void> {
  await db.query({ name: 'identity.revoke_session', text: 'UPDATE sessions SET revoked_at = now(), revoked_reason = $2 WHERE id = $1 AND revoked_at IS NULL', values: [sessionId, reason] });
}

/** Revokes every live session of the user; returns how many. */
export async function revokeUserSessions(db: Queryable, userId: string, reason: RevokeReason): Promise<number> {
  const { rowCount } = await db.query({ name: 'identity.revoke_user_sessions', text: 'UPDATE sessions SET revoked_at = now(), revoked_reason = $2 WHERE user_id = $1 AND revoked_at IS NULL', values: [userId, reason] });
  return rowCount ?? 0;
}

/** Whether the session is live (not revoked, not expired) on the database clock. */
export async function isSessionLive(db: Queryable, sessionId: string, userId: string): Promise<boolean> {
  const { rowCount } = await db.query({ name: 'identity.session_live', text: 'SELECT 1 FROM sessions WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL AND expires_at > now()', values: [sessionId, userId] });
  return rowCount === 1;
}

/** Removes sessions (and their tokens) and one-time tokens that ended more than `afterSeconds` ago, in bounded batches. */
export async function deleteEnded(db: Queryable, afterSeconds: number, batch = 1000): Promise<number> {
  const sessions = await db.query({
    name: 'identity.delete_ended_sessions',
    text: `DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE expires_at < now() - make_interval(secs => $1) OR revoked_at < now() - make_interval(secs => $1) LIMIT $2)`,
    values: [afterSeconds, batch],
  });
  const tokens = await db.query({
    name: 'identity.delete_ended_one_time_tokens',
    text: `DELETE FROM one_time_tokens WHERE token_hash IN (SELECT token_hash FROM one_time_tokens WHERE expires_at < now() - make_interval(secs => $1) LIMIT $2)`,
    values: [afterSeconds, batch],
  });
  return (sessions.rowCount ?? 0) + (tokens.rowCount ?? 0);
}
