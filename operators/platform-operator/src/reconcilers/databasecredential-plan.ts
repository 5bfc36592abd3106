/**
 * What a DatabaseCredential needs next, pure. Two login roles take turns
 * (`<role>_a`, `<role>_b`, both members of a NOLOGIN group role that holds
 * the grants). The Secret names the active one; a rotation gives the
 * inactive one a new password, points the Secret at it (the flip), and
 * leaves the previously active role alone: its sessions keep running and
 * pods that have not seen the new Secret yet still log in with its
 * password. That role is only rotated at the next rotation, and never
 * sooner than `minFlipIntervalSeconds` after the flip (the time a mounted
 * Secret takes to reach every pod). The active role is read from the
 * Secret (what clients see), not from status, so a crash between writing
 * the Secret and the status never rotates the role clients use.
 */

export interface DatabaseCredentialSpec {
  /** Role prefix: login roles `<role>_a` and `<role>_b`. */
  role: string;
  /** NOLOGIN role holding the grants; the login roles are its members. Default: `role`. */
  groupRole?: string;
  /** The Secret the operator writes (username, password, credentials.json). */
  secretName: string;
  /** Secret (same namespace) with a PostgreSQL URL of a role allowed to CREATE/ALTER ROLE. */
  adminSecretRef: { name: string; key: string };
  /** Rotate after this long. Default one day. */
  rotationIntervalSeconds?: number;
  /** Never rotate sooner than this after the last flip. Default 300 s. */
  minFlipIntervalSeconds?: number;
}

export const CREDENTIAL_DEFAULTS = { rotationIntervalSeconds: 86_400, minFlipIntervalSeconds: 300 } as const;

export const ROLE_NAME = /^[a-z][a-z0-9_]{0,55}$/;

export interface RotationState {
  spec: DatabaseCredentialSpec;
  /** The username the Secret names now (undefined: no Secret yet). */
  secretUser: string | undefined;
  /** status.lastRotationTime: when this operator last flipped the Secret. */
  lastRotationTime: string | undefined;
  /** The rotate-now annotation's value, and the last one acted on (status.lastRequest). */
  requested: string | undefined;
  lastRequest: string | undefined;
  now: Date;
}

export type RotationPlan =
  | { action: 'invalid'; message: string }
  /** No usable Secret: give `to` a password and write the Secret. */
  | { action: 'bootstrap'; to: string }
  /** The Secret is right but status does not know when it flipped: record now, rotate later. */
  | { action: 'adopt'; active: string }
  | { action: 'rotate'; from: string; to: string; reason: 'schedule' | 'requested' }
  | { action: 'wait'; active: string; afterMs: number; reason: 'schedule' | 'flip-too-recent' };

export function loginRoles(role: string): [string, string] {
  return [`${role}_a`, `${role}_b`];
}

export function validateSpec(spec: DatabaseCredentialSpec): string | undefined {
  if (!ROLE_NAME.test(spec.role ?? '')) return `spec.role must match ${ROLE_NAME}`;
  if (spec.groupRole !== undefined && !ROLE_NAME.test(spec.groupRole)) return `spec.groupRole must match ${ROLE_NAME}`;
  if (loginRoles(spec.role).includes(spec.groupRole ?? spec.role)) return 'spec.groupRole must differ from the login roles';
  const interval = spec.rotationIntervalSeconds ?? CREDENTIAL_DEFAULTS.rotationIntervalSeconds;
  const flip = spec.minFlipIntervalSeconds ?? CREDENTIAL_DEFAULTS.minFlipIntervalSeconds;
  if (!Number.isInteger(interval) || interval < 1) return 'spec.rotationIntervalSeconds must be a positive integer';
  if (!Number.isInteger(flip) || flip < 0) return 'spec.minFlipIntervalSeconds must be a non-negative integer';
  if (flip > interval) return 'spec.minFlipIntervalSeconds must not exceed spec.rotationIntervalSeconds';
  return undefined;
}

export function planRotation(state: RotationState): RotationPlan {
  const invalid = validateSpec(state.spec);
  if (invalid) return { action: 'invalid', message: invalid };
  const [a, b] = loginRoles(state.spec.role);
  const active = state.secretUser;
  if (active !== a && active !== b) return { action: 'bootstrap', to: a };
  const last = state.lastRotationTime === undefined ? Number.NaN : Date.parse(state.lastRotationTime);
  if (Number.isNaN(last)) return { action: 'adopt', active };
  const since = state.now.getTime() - last;
  const intervalMs = (state.spec.rotationIntervalSeconds ?? CREDENTIAL_DEFAULTS.rotationIntervalSeconds) * 1000;
  const flipMs = (state.spec.minFlipIntervalSeconds ?? CREDENTIAL_DEFAULTS.minFlipIntervalSeconds) * 1000;
  const requested = state.requested !== undefined && state.requested !== '' && state.requested !== state.lastRequest;
  if (!requested && since < intervalMs) return { action: 'wait', active, afterMs: intervalMs - since, reason: 'schedule' };
  if (since < flipMs) return { action: 'wait', active, afterMs: flipMs - since, reason: 'flip-too-recent' };
  return { action: 'rotate', from: active, to: active === a ? b : a, reason: requested ? 'requested' : 'schedule' };
}
