/** Business metrics of the identity service (the kit adds HTTP, pool and process metrics; the rate limiter its own). */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface IdentityMetrics {
  /** outcome: success|invalid|locked|throttled|unverified. */
  logins: Counter<'outcome'>;
  /** outcome: rotated|reuse|refused. */
  refreshes: Counter<'outcome'>;
  /** reason: logout|reuse|password-reset. */
  sessionsRevoked: Counter<'reason'>;
  registrations: Counter;
  /** op: hash|verify. */
  passwordSeconds: Histogram<'op'>;
  /** event: created|removed. */
  signingKeys: Counter<'event'>;
  keyRingFailures: Counter;
  /** kind: verify-email|reset-password; outcome: sent|failed|throttled. */
  emails: Counter<'kind' | 'outcome'>;
  /** outcome: required|invalid|otp|recovery|enrolled. */
  secondFactor: Counter<'outcome'>;
  /** OAuth/OIDC grants issued by the provider; grant: authorization_code|refresh_token|client_credentials. */
  oidcTokens: Counter<'grant'>;
  /** OAuth/OIDC errors answered by the provider, by OAuth error code (invalid_grant, invalid_client, …). */
  oidcErrors: Counter<'error'>;
  /** Organisation invitations; outcome: sent|accepted|refused. */
  invitations: Counter<'outcome'>;
}

export function createIdentityMetrics(registry: Registry, keyRingAgeSeconds: () => number): IdentityMetrics {
  new Gauge({
    name: 'identity_key_ring_age_seconds',
    help: 'Seconds since this replica last read the signing key ring (it stops signing past KEY_PUBLISH_AHEAD_SECONDS).',
    registers: [registry],
    collect() {
      this.set(keyRingAgeSeconds());
    },
  });
  return {
    logins: new Counter({ name: 'identity_logins_total', help: 'Password logins by outcome.', labelNames: ['outcome'], registers: [registry] }),
    refreshes: new Counter({ name: 'identity_refreshes_total', help: 'Refresh-token exchanges by outcome (reuse revokes the family).', labelNames: ['outcome'], registers: [registry] }),
    sessionsRevoked: new Counter({ name: 'identity_sessions_revoked_total', help: 'Sessions (refresh-token families) revoked, by reason.', labelNames: ['reason'], registers: [registry] }),
    registrations: new Counter({ name: 'identity_registrations_total', help: 'Accounts created.', registers: [registry] }),
    passwordSeconds: new Histogram({
      name: 'identity_password_hash_seconds',
      help: 'argon2id hash and verify time.',
      labelNames: ['op'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    signingKeys: new Counter({ name: 'identity_signing_key_events_total', help: 'Signing keys created and removed by this replica.', labelNames: ['event'], registers: [registry] }),
    keyRingFailures: new Counter({ name: 'identity_key_ring_failures_total', help: 'Key ring maintenance passes that failed.', registers: [registry] }),
    emails: new Counter({ name: 'identity_emails_total', help: 'Account emails by kind and outcome.', labelNames: ['kind', 'outcome'], registers: [registry] }),
    secondFactor: new Counter({ name: 'identity_second_factor_total', help: 'TOTP checks and enrolments by outcome (invalid counts wrong codes at login, confirm and disable).', labelNames: ['outcome'], registers: [registry] }),
    oidcTokens: new Counter({ name: 'identity_oidc_tokens_total', help: 'Token endpoint grants issued by the OIDC provider.', labelNames: ['grant'], registers: [registry] }),
    oidcErrors: new Counter({ name: 'identity_oidc_errors_total', help: 'OAuth/OIDC error answers of the provider, by OAuth error code.', labelNames: ['error'], registers: [registry] }),
    invitations: new Counter({ name: 'identity_invitations_total', help: 'Organisation invitations by outcome.', labelNames: ['outcome'], registers: [registry] }),
  };
}
