/** What the use cases need, built once by app.ts. */
import type { DbPool } from '@bulwark/db';
import type { MailOutbox } from '../mail/mailer.ts';
import type { IdentityMetrics } from '../metrics.ts';
import type { TokenSettings } from './access-tokens.ts';
import type { KeyRing } from './key-ring.ts';
import type { Sealer } from './key-sealing.ts';
import type { LoginThrottle } from './login-throttle.ts';
import type { PasswordHasher } from './passwords.ts';

export interface IdentityContext {
  pool: DbPool;
  hasher: PasswordHasher;
  ring: KeyRing;
  /** Seals secrets at rest (signing keys, TOTP secrets) under KEY_ENCRYPTION_KEY. */
  sealer: Sealer;
  tokens: TokenSettings;
  mail: MailOutbox;
  throttle: LoginThrottle;
  metrics: IdentityMetrics;
  lifetimes: {
    refreshTokenSeconds: number;
    sessionMaxAgeSeconds: number;
    verifyTokenSeconds: number;
    resetTokenSeconds: number;
    invitationSeconds: number;
  };
  roles: {
    customer: readonly string[];
    admin: readonly string[];
    /** `tenant-slug:email` (normalised) of accounts that get the admin roles. */
    adminEmails: ReadonlySet<string>;
  };
  requireVerifiedEmail: boolean;
  /** The issuer name authenticator apps show next to the account (TOTP_ISSUER). */
  totpIssuer: string;
}

/** Times an argon2 operation into the histogram. */
export async function timed<T>(ctx: IdentityContext, op: 'hash' | 'verify', fn: () => Promise<T>): Promise<T> {
  const end = ctx.metrics.passwordSeconds.startTimer({ op });
  try {
    return await fn();
  } finally {
    end();
  }
}
