/**
 * Every configuration key of the identity service, with type, default and
 * meaning; read once by main.ts (tests pass their own env object). Durations
 * are seconds unless the key says otherwise.
 */
import { z } from 'zod';
import { baseConfigSchema, commaList, loadConfig } from '@bulwark/service-kit';

const flag = z.enum(['true', 'false']).transform((v) => v === 'true');
const seconds = z.coerce.number().int().positive();
const csv = commaList();

export const identityConfigSchema = baseConfigSchema
  .extend({
    DATABASE_URL: z.string().min(1).describe('PostgreSQL URL of the runtime role (bulwark_app): no owner, no superuser, no BYPASSRLS, so row-level security applies; checked at start.'),
    MIGRATION_DATABASE_URL: z.string().min(1).describe('PostgreSQL URL of the tables\' owner: migrations and grants at start.'),
    IDENTITY_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]*$/).default('identity').describe('PostgreSQL schema of tenants, accounts, sessions and signing keys.'),
    DB_POOL_MAX: z.coerce.number().int().positive().default(20).describe('Largest PostgreSQL pool size.'),
    TRUST_PROXY_HOPS: z.coerce.number().int().min(0).default(0).describe('Forwarding proxies in front of identity whose X-Forwarded-For is believed (1 behind the gateway); the client IP of throttling and lockout depends on it.'),
    REDIS_URL: z.url().describe('Redis of the login rate limits (@bulwark/ratelimit).'),
    RATE_LIMIT_PREFIX: z.string().min(1).default('rl:identity').describe('Redis key prefix of the login rate limits.'),
    RATE_LIMIT_FAILURE_MODE: z.enum(['fail-open', 'fail-closed']).default('fail-open').describe('Login rate limits while Redis is down: a per-replica in-memory limit (fail-open) or 503 (fail-closed). The PostgreSQL lockout applies either way.'),
    RATE_LIMIT_TIMEOUT_MS: z.coerce.number().int().positive().default(100).describe('Longest wait for Redis on a rate-limit check.'),
    IDENTITY_INSTANCES: z.coerce.number().int().positive().default(1).describe('Expected replicas; fail-open divides each limit by it.'),
    LOGIN_LIMIT_PER_IP: z.coerce.number().int().positive().default(60).describe('Login attempts per client IP per minute (token bucket), whatever the account.'),
    LOGIN_LIMIT_PER_IP_ACCOUNT: z.coerce.number().int().positive().default(10).describe('Login attempts per client IP and account per minute.'),
    LOGIN_LIMIT_PER_ACCOUNT: z.coerce.number().int().positive().default(100).describe('Login attempts per account per 15 minutes from all IPs together (distributed guessing).'),
    LOCKOUT_THRESHOLD: z.coerce.number().int().positive().default(5).describe('Consecutive failed logins of one account from one client IP before that pair is locked.'),
    LOCKOUT_BASE_SECONDS: seconds.default(30).describe('First lock of an (account, IP) pair; doubles with each further failure.'),
    LOCKOUT_MAX_SECONDS: seconds.default(900).describe('Longest single lock of an (account, IP) pair (the cap of the doubling).'),
    ACCESS_TOKEN_TTL_SECONDS: seconds.max(3600).default(600).describe('Lifetime of an access token: also the longest a revoked session keeps working at services that only verify signatures.'),
    REFRESH_TOKEN_TTL_SECONDS: seconds.default(14 * 86_400).describe('Lifetime of one refresh token (each refresh issues a new one).'),
    SESSION_MAX_AGE_SECONDS: seconds.default(30 * 86_400).describe('Absolute lifetime of a session (refresh-token family) from its login.'),
    JWT_ISSUER: z.string().min(1).default('http://127.0.0.1:8081').describe('`iss` of access tokens; set the gateway JWT_ISSUER to the same value.'),
    JWT_AUDIENCE: z.string().min(1).default('bulwark').describe('`aud` of access tokens; set the gateway JWT_AUDIENCE to the same value.'),
    JWT_CLOCK_TOLERANCE_S: z.coerce.number().int().min(0).default(5).describe('Clock skew allowed when identity verifies its own tokens (and added to the key retirement grace).'),
    KEY_ENCRYPTION_KEY: z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, '64 hex characters (32 bytes)')
      .describe('AES-256-GCM key sealing the signing keys\' private halves in PostgreSQL (`{{secret:identity-key-encryption}}` locally, a Kubernetes Secret in the chart). Never logged.'),
    KEY_ROTATION_INTERVAL_SECONDS: seconds.default(86_400).describe('A new signing key becomes active this often.'),
    KEY_PUBLISH_AHEAD_SECONDS: seconds.default(900).describe('A new key is published in the JWKS this long before it signs, so verifiers with a cached JWKS (gateway JWKS_CACHE_MAX_AGE_MS, 600 s) know it first.'),
    KEY_RETIRE_GRACE_SECONDS: z.coerce.number().int().min(0).default(60).describe('Extra time a superseded key stays published after its last token expired (clock skew, in-flight requests).'),
    KAFKA_BROKERS: z.string().min(1).optional().describe('Comma-separated Kafka bootstrap brokers. Set: the outbox relay publishes security events (logins, role and membership changes) to SECURITY_EVENTS_TOPIC for the audit log; unset: they wait in the outbox.'),
    SECURITY_EVENTS_TOPIC: z.string().min(1).default('identity.events').describe("Kafka topic of identity's security events (apps/audit reads it)."),
    OUTBOX_BATCH_SIZE: z.coerce.number().int().positive().default(200).describe('Security events per outbox relay round.'),
    OUTBOX_POLL_MS: z.coerce.number().int().positive().default(200).describe('Outbox relay poll interval when idle.'),
    KEY_CHECK_INTERVAL_MS: z.coerce.number().int().positive().default(30_000).describe('How often each replica re-reads the key ring and, under an advisory lock, creates or removes keys.'),
    VERIFY_TOKEN_TTL_SECONDS: seconds.default(86_400).describe('Lifetime of an email verification token.'),
    RESET_TOKEN_TTL_SECONDS: seconds.default(1_800).describe('Lifetime of a password reset token.'),
    INVITATION_TTL_SECONDS: seconds.default(7 * 86_400).describe('Lifetime of an organisation invitation (single use).'),
    LOGIN_REQUIRES_VERIFIED_EMAIL: flag.default(true).describe('Refuse login (403, after a correct password) until the email is verified.'),
    ARGON2_MEMORY_KIB: z.coerce.number().int().min(8_192).default(19_456).describe('argon2id memory cost in KiB (docs/DECISIONS.md).'),
    ARGON2_TIME_COST: z.coerce.number().int().min(1).default(2).describe('argon2id iterations.'),
    ARGON2_PARALLELISM: z.coerce.number().int().min(1).default(1).describe('argon2id lanes.'),
    TENANTS: csv
      .default(['bulwark:Bulwark'])
      .pipe(z.array(z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}:.{1,200}$/, 'slug:Name')))
      .describe('Tenants (organisations) created at start when missing, as slug:Name pairs; more are created through POST /v1/organizations.'),
    ADMIN_EMAILS: csv.default([]).describe('tenant-slug:email pairs that get the admin roles at registration (bootstrap until role management exists).'),
    CUSTOMER_ROLES: csv.default(['customer', 'orders', 'payments']).describe('Roles of a new account.'),
    ADMIN_ROLES: csv.default(['admin', 'customer', 'orders', 'payments', 'gateway-admin']).describe('Roles of an account named in ADMIN_EMAILS.'),
    TOKEN_SCOPE: z.string().min(1).default('openid profile').describe('`scope` claim of access tokens issued by password login.'),
    NOTIFICATIONS_URL: z.url().default('http://127.0.0.1:8086').describe('Base URL of the notifications service that sends verification and reset emails.'),
    MAIL_TIMEOUT_MS: z.coerce.number().int().positive().default(5_000).describe('Longest wait for the notifications service per email.'),
    OIDC_CLIENTS: z
      .string()
      .default('[]')
      .transform((raw, c) => {
        try {
          return JSON.parse(raw) as unknown;
        } catch {
          c.addIssue({ code: 'custom', message: 'must be a JSON array of OAuth client metadata' });
          return z.NEVER;
        }
      })
      .pipe(z.array(z.looseObject({ client_id: z.string().min(1), redirect_uris: z.array(z.url()).optional(), client_secret: z.string().min(32).optional() })))
      .describe('OAuth clients of the OIDC provider (authorization code + PKCE), as a JSON array of RFC 7591 client metadata: client_id, redirect_uris, post_logout_redirect_uris, grant_types, token_endpoint_auth_method ("none" for public clients), client_secret (≥ 32 characters), client_name, scope.'),
    INTERNAL_CLIENTS: csv.default(['notifications']).describe('Service clients allowed on /v1/internal/accounts (contact details); another service\'s token gets 403 CLIENT_NOT_ALLOWED.'),
    OIDC_SERVICE_CLIENTS: csv
      .default([])
      .pipe(z.array(z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}=.{32,}$/, 'client-id=secret (secret ≥ 32 characters)')))
      .describe('Service-to-service clients (client credentials grant, role `service`) as client-id=secret pairs; their tokens are JWTs for OIDC_RESOURCE.'),
    OIDC_RESOURCE: z.string().regex(/^[a-z][a-z0-9+.-]*:[^#]+$/, 'an absolute URI without fragment').default('urn:bulwark:api').describe('Resource indicator (RFC 8707) of the platform API: access tokens for it are ES256 JWTs with aud JWT_AUDIENCE; the default resource of client credentials.'),
    OIDC_API_SCOPES: z.string().regex(/^[a-z][a-z0-9:._-]*( [a-z][a-z0-9:._-]*)*$/).default('api').transform((s) => s.split(' ')).describe('Space-separated scopes the platform API grants (besides openid, profile, email, offline_access).'),
    TOTP_ISSUER: z.string().min(1).max(60).default('Bulwark').describe('Issuer name in otpauth:// URIs (what authenticator apps show next to the account).'),
    MAINTENANCE_ENABLED: flag.default(true).describe('Run the key-ring maintenance and the cleanup of expired rows in this process (safe on every replica).'),
  })
  .superRefine((c, ctx) => {
    if (c.KEY_PUBLISH_AHEAD_SECONDS >= c.KEY_ROTATION_INTERVAL_SECONDS) {
      ctx.addIssue({ code: 'custom', path: ['KEY_PUBLISH_AHEAD_SECONDS'], message: 'must be shorter than KEY_ROTATION_INTERVAL_SECONDS' });
    }
    const ids = [...c.OIDC_CLIENTS.map((x) => x.client_id), ...c.OIDC_SERVICE_CLIENTS.map((x) => x.slice(0, x.indexOf('=')))];
    const duplicate = ids.find((id, i) => ids.indexOf(id) !== i);
    if (duplicate) ctx.addIssue({ code: 'custom', path: ['OIDC_CLIENTS'], message: `client_id ${duplicate} is declared twice (OIDC_CLIENTS, OIDC_SERVICE_CLIENTS)` });
    if (c.KEY_CHECK_INTERVAL_MS >= c.KEY_PUBLISH_AHEAD_SECONDS * 1000) {
      ctx.addIssue({ code: 'custom', path: ['KEY_CHECK_INTERVAL_MS'], message: 'must be shorter than KEY_PUBLISH_AHEAD_SECONDS, or a replica may not know a key before it signs' });
    }
  });

export type IdentityConfig = z.output<typeof identityConfigSchema>;

export function loadIdentityConfig(env: Record<string, string | undefined> = process.env): IdentityConfig {
  return loadConfig(identityConfigSchema, env);
}
