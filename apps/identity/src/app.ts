/**
 * Builds the identity service without listening: the PostgreSQL pool, the
 * Redis client of the login rate limits, the key ring and its housekeeping,
 * the mail outbox, the routes. Dependencies are registered with the kit so
 * that shutdown stops housekeeping and drains mail before the pool and Redis
 * close. `start()` migrates, seeds the configured tenants, reads (or creates)
 * the key ring, starts housekeeping and listens. The pool connects as the
 * runtime role (row-level security binds it: invitations and addresses,
 * migrations/0007); DDL and grants go through the owner's pool.
 */
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import type { DestinationStream } from 'pino';
import { createKafka, createOutboxRelay, createProducer, ensureTopics, type EventsKafka, type OutboxRelay } from '@bulwark/events';
import { assertRuntimeRole, createPool, DB_ROLES, grantSchemaAccess, migrate, queryTrackingScope, type DbPool } from '@bulwark/db';
import { RateLimiter } from '@bulwark/ratelimit';
import { createService, type Service, type StartedService } from '@bulwark/service-kit';
import { createTokenVerifier } from '@bulwark/service-kit/service-auth';
import type { IdentityConfig } from './config.ts';
import type { IdentityContext } from './domain/context.ts';
import { Housekeeping } from './domain/housekeeping.ts';
import { KeyRing } from './domain/key-ring.ts';
import { createSealer } from './domain/key-sealing.ts';
import { LoginThrottle, loginPolicies } from './domain/login-throttle.ts';
import { createPasswordHasher } from './domain/passwords.ts';
import { normalizeEmail } from './domain/secrets.ts';
import { registerIdentitySubgraph } from './graphql/subgraph.ts';
import { registerInternalRoutes } from './http/internal-routes.ts';
import { registerOrganizationRoutes } from './http/organization-routes.ts';
import { registerRoutes } from './http/routes.ts';
import { createOidcHandler, serviceClients, withOidcDiscovery } from './oidc/http.ts';
import { InteractionPages } from './oidc/interactions.ts';
import { OidcProvider } from './oidc/provider.ts';
import type { ClientMetadata } from 'oidc-provider';
import { MailOutbox, type Mailer } from './mail/mailer.ts';
import { SECURITY_EVENTS, securityEventSchemas } from './domain/security-events.ts';
import { createNotificationsMailer } from './mail/notifications-mailer.ts';
import { createIdentityMetrics } from './metrics.ts';
import { ensureTenant } from './store/accounts-store.ts';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations/', import.meta.url));

export interface IdentityAppOptions {
  config: IdentityConfig;
  logDestination?: DestinationStream;
  /** Replaces the notifications mailer (benchmarks); tests point NOTIFICATIONS_URL at a receiver instead. */
  mailer?: Mailer;
}

export interface IdentityApp {
  readonly service: Service<IdentityConfig>;
  readonly pool: DbPool;
  readonly ring: KeyRing;
  readonly housekeeping: Housekeeping;
  readonly context: IdentityContext;
  readonly oidc: OidcProvider;
  /** Schema, migrations, tenants, the key ring's first key; idempotent, safe from every replica. */
  prepare(): Promise<void>;
  /** prepare(), start housekeeping, listen. */
  start(): Promise<StartedService>;
}

export function createIdentityApp(options: IdentityAppOptions): IdentityApp {
  const { config } = options;
  let pool!: DbPool;
  let ownerPool!: DbPool;
  let ring!: KeyRing;
  let housekeeping!: Housekeeping;
  let context!: IdentityContext;
  let oidc!: OidcProvider;
  let kafka: EventsKafka | undefined;
  let relay: OutboxRelay | undefined;

  const service = createService({
    name: 'identity',
    version: '0.1.0',
    config,
    logDestination: options.logDestination,
    // Each request's statements are one tracked work (N+1, per-request counts); identity has no tenant scope.
    ...queryTrackingScope,
    routes(r, kit) {
      pool = createPool({ connectionString: config.DATABASE_URL, name: 'identity', max: config.DB_POOL_MAX, searchPath: [config.IDENTITY_SCHEMA], registry: kit.metrics, log: kit.log });
      ownerPool = createPool({ connectionString: config.MIGRATION_DATABASE_URL, name: 'identity-owner', max: 1, statementTimeoutMs: 0, searchPath: [config.IDENTITY_SCHEMA], registry: kit.metrics, log: kit.log });
      kit.addDependency({ name: 'postgres-owner', check: async () => undefined, close: () => ownerPool.close() });
      kit.addDependency({ name: 'postgres', check: (signal) => pool.check(signal), close: () => pool.close() });

      const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 1, enableOfflineQueue: true, retryStrategy: (times) => Math.min(times * 50, 500) });
      redis.on('error', () => undefined); // the limiter reports Redis trouble (metrics + rate-limited logs)
      // Not a readiness check: while Redis is away the limits fail open (or closed) as configured, and the lockout still holds.
      kit.addDependency({ name: 'redis', check: async () => undefined, close: async () => void (await redis.quit().catch(() => redis.disconnect())) });
      const limiter = new RateLimiter({
        redis,
        policies: loginPolicies({ perIp: config.LOGIN_LIMIT_PER_IP, perIpAccount: config.LOGIN_LIMIT_PER_IP_ACCOUNT, perAccount: config.LOGIN_LIMIT_PER_ACCOUNT }),
        prefix: config.RATE_LIMIT_PREFIX,
        timeoutMs: config.RATE_LIMIT_TIMEOUT_MS,
        failureMode: config.RATE_LIMIT_FAILURE_MODE,
        expectedInstances: config.IDENTITY_INSTANCES,
        registry: kit.metrics,
        logger: kit.log,
      });

      const metrics = createIdentityMetrics(kit.metrics, () => ring.ageSeconds);
      const sealer = createSealer(config.KEY_ENCRYPTION_KEY);
      ring = new KeyRing({
        pool,
        sealer,
        schedule: {
          rotationMs: config.KEY_ROTATION_INTERVAL_SECONDS * 1000,
          publishAheadMs: config.KEY_PUBLISH_AHEAD_SECONDS * 1000,
          retireAfterMs: (config.ACCESS_TOKEN_TTL_SECONDS + config.JWT_CLOCK_TOLERANCE_S + config.KEY_RETIRE_GRACE_SECONDS) * 1000,
        },
        log: kit.log,
        onRotation: (event) => metrics.signingKeys.inc({ event }),
      });
      housekeeping = new Housekeeping({ pool, ring, maintain: config.MAINTENANCE_ENABLED, intervalMs: config.KEY_CHECK_INTERVAL_MS, log: kit.log, onFailure: () => metrics.keyRingFailures.inc() });
      kit.addDependency({
        name: 'key-ring',
        async check() {
          if (!ring.fresh) throw new Error(`the key ring was last read ${Math.round(ring.ageSeconds)} s ago`);
        },
        close: () => housekeeping.stop(),
      });

      const mail = new MailOutbox({
        mailer: options.mailer ?? createNotificationsMailer({ baseUrl: config.NOTIFICATIONS_URL, timeoutMs: config.MAIL_TIMEOUT_MS }),
        log: kit.log,
        onOutcome: (kind, outcome) => metrics.emails.inc({ kind, outcome }),
      });
      kit.addDependency({ name: 'mail-outbox', check: async () => undefined, close: () => mail.drain(config.MAIL_TIMEOUT_MS) });
      const brokers = config.KAFKA_BROKERS?.split(',').map((b) => b.trim()).filter(Boolean) ?? [];
      if (brokers.length > 0) {
        kafka = createKafka({ brokers, clientId: 'identity-outbox' });
        const producer = createProducer({ kafka, schemas: securityEventSchemas, source: '/bulwark/identity', registry: kit.metrics, log: kit.log });
        const r = createOutboxRelay({ pool, producer, topic: config.SECURITY_EVENTS_TOPIC, table: 'security_events_outbox', keyColumn: 'account_id', events: SECURITY_EVENTS, batchSize: config.OUTBOX_BATCH_SIZE, pollIntervalMs: config.OUTBOX_POLL_MS, log: kit.log });
        relay = r;
        // Kafka away must not make identity unready: security events wait in the outbox.
        kit.addDependency({
          name: 'security-events-relay',
          check: async () => undefined,
          close: async () => {
            await r.stop();
            await Promise.race([producer.close(), new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
          },
        });
      }

      context = {
        pool,
        hasher: createPasswordHasher({ memoryKib: config.ARGON2_MEMORY_KIB, timeCost: config.ARGON2_TIME_COST, parallelism: config.ARGON2_PARALLELISM }),
        ring,
        sealer,
        tokens: { issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE, ttlSeconds: config.ACCESS_TOKEN_TTL_SECONDS, clockToleranceS: config.JWT_CLOCK_TOLERANCE_S, scope: config.TOKEN_SCOPE },
        mail,
        throttle: new LoginThrottle(limiter, { threshold: config.LOCKOUT_THRESHOLD, baseSeconds: config.LOCKOUT_BASE_SECONDS, maxSeconds: config.LOCKOUT_MAX_SECONDS }),
        metrics,
        lifetimes: {
          refreshTokenSeconds: config.REFRESH_TOKEN_TTL_SECONDS,
          sessionMaxAgeSeconds: config.SESSION_MAX_AGE_SECONDS,
          verifyTokenSeconds: config.VERIFY_TOKEN_TTL_SECONDS,
          resetTokenSeconds: config.RESET_TOKEN_TTL_SECONDS,
          invitationSeconds: config.INVITATION_TTL_SECONDS,
        },
        roles: {
          customer: config.CUSTOMER_ROLES,
          admin: config.ADMIN_ROLES,
          adminEmails: new Set(config.ADMIN_EMAILS.map((e) => {
            const i = e.indexOf(':');
            return `${e.slice(0, i)}:${normalizeEmail(e.slice(i + 1))}`;
          })),
        },
        requireVerifiedEmail: config.LOGIN_REQUIRES_VERIFIED_EMAIL,
        totpIssuer: config.TOTP_ISSUER,
      };
      registerRoutes(r, context);
      registerOrganizationRoutes(r, context);
      registerIdentitySubgraph(r, pool);
      // Services' tokens are verified against the ring identity signs with (its published keys, its clock).
      const serviceTokens = createTokenVerifier({
        keys: (header, token) => ring.verifier()(header, token),
        issuer: config.JWT_ISSUER,
        audience: config.JWT_AUDIENCE,
        algorithms: ['ES256'],
        typ: 'at+jwt',
        clockToleranceS: config.JWT_CLOCK_TOLERANCE_S,
        now: () => ring.now(),
      });
      registerInternalRoutes(r, context, serviceTokens, config.INTERNAL_CLIENTS);

      oidc = new OidcProvider(
        context,
        {
          issuer: config.JWT_ISSUER,
          audience: config.JWT_AUDIENCE,
          resource: config.OIDC_RESOURCE,
          apiScopes: config.OIDC_API_SCOPES,
          clients: [...(config.OIDC_CLIENTS as ClientMetadata[]), ...serviceClients(config.OIDC_SERVICE_CLIENTS)],
          accessTokenSeconds: config.ACCESS_TOKEN_TTL_SECONDS,
          refreshTokenSeconds: config.REFRESH_TOKEN_TTL_SECONDS,
          sessionSeconds: config.SESSION_MAX_AGE_SECONDS,
          keyMaterial: config.KEY_ENCRYPTION_KEY,
          trustProxy: config.TRUST_PROXY_HOPS > 0,
        },
        kit.log,
      );
      kit.publishOpenApi(withOidcDiscovery);
      kit.mountRawHandler(createOidcHandler(oidc, new InteractionPages(oidc, context, config.KEY_ENCRYPTION_KEY, config.TRUST_PROXY_HOPS)));
    },
  });

  // The client IP of throttling and lockout: believe X-Forwarded-For from this many proxies (the gateway sets it).
  service.app.set('trust proxy', config.TRUST_PROXY_HOPS);

  // DDL as the owner; then the runtime role is checked (RLS must bind it) and given the data, not the DDL.
  async function prepare(): Promise<void> {
    await migrate({ pool: ownerPool, dir: MIGRATIONS_DIR, schema: config.IDENTITY_SCHEMA, phase: 'all' });
    const runtimeRole = await assertRuntimeRole(pool, ownerPool);
    await grantSchemaAccess({ pool: ownerPool, schema: config.IDENTITY_SCHEMA, runtimeRole, reportingRole: DB_ROLES.reporting });
    for (const entry of config.TENANTS) {
      const i = entry.indexOf(':');
      await ensureTenant(pool, { id: randomUUID(), slug: entry.slice(0, i), name: entry.slice(i + 1) });
    }
    await housekeeping.runOnce();
    if (kafka) await ensureTopics(kafka, [{ name: config.SECURITY_EVENTS_TOPIC, partitions: 6, retentionMs: 7 * 86_400_000 }]);
    relay?.start();
  }

  return {
    service,
    get pool() {
      return pool;
    },
    get ring() {
      return ring;
    },
    get housekeeping() {
      return housekeeping;
    },
    get context() {
      return context;
    },
    get oidc() {
      return oidc;
    },
    prepare,
    async start() {
      await prepare();
      housekeeping.start();
      return service.start();
    },
  };
}
