/**
 * Every configuration key of the notifications service, with type, default
 * and meaning; read once by main.ts (tests pass their own env object). The
 * only reader of process.env in this workspace.
 */
import { z } from 'zod';
import { baseConfigSchema, commaList, loadConfig } from '@bulwark/service-kit';

const flag = z.enum(['true', 'false']).transform((v) => v === 'true');
const list = () => commaList().default([]);
const ms = () => z.coerce.number().int().positive();

export const notificationsConfigSchema = baseConfigSchema.extend({
  PORT: z.coerce.number().int().min(0).max(65_535).default(8086).describe('TCP port to listen on; 0 picks a free port.'),
  DATABASE_URL: z.string().min(1).describe('PostgreSQL URL of the runtime role (bulwark_app): no owner, no superuser, no BYPASSRLS, so row-level security applies; checked at start.'),
  MIGRATION_DATABASE_URL: z.string().min(1).describe('PostgreSQL URL of the tables\' owner: migrations and grants at start.'),
  NOTIFICATIONS_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]*$/).default('notifications').describe('PostgreSQL schema of endpoints, deliveries, messages and suppressions.'),
  DB_POOL_MAX: z.coerce.number().int().positive().default(20).describe('Largest PostgreSQL pool size.'),
  REDIS_URL: z.string().min(1).describe('Redis URL of the BullMQ queues (maxmemory-policy noeviction).'),
  JOBS_PREFIX: z.string().regex(/^[A-Za-z0-9_-]+$/).default('bulwark-jobs').describe('Redis key prefix of the queues.'),
  WORKER_ENABLED: flag.default(true).describe('Run the delivery and message workers and the dispatcher in this process.'),
  WORKER_CONCURRENCY: z.coerce.number().int().positive().default(32).describe('Webhook deliveries in flight per process.'),
  WORKER_LOCK_MS: ms().default(30_000).describe('BullMQ job lock; a job of a crashed worker is recovered by the stalled check after this.'),
  WORKER_STALLED_INTERVAL_MS: ms().default(30_000).describe('How often a worker looks for stalled jobs.'),
  WORKER_SHUTDOWN_DEADLINE_MS: ms().default(10_000).describe('At SIGTERM, in-flight jobs may finish for this long; the rest are handed back to wait.'),
  DISPATCH_INTERVAL_MS: ms().default(1_000).describe('Poll interval of the dispatcher that enqueues pending deliveries and messages recorded without a job (Kafka fan-out, crash between commit and enqueue).'),
  DISPATCH_STALE_MS: ms().default(600_000).describe('A pending row enqueued longer ago than this is enqueued again (idempotent by its id): covers jobs lost with Redis.'),
  WEBHOOK_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(10_000).default(200).describe('Attempts per delivery, first included; the retry horizon usually ends retries first.'),
  WEBHOOK_RETRY_HORIZON_HOURS: z.coerce.number().positive().default(72).describe('A delivery still failing this long after it was created is dead-lettered.'),
  WEBHOOK_BACKOFF_BASE_MS: ms().default(1_000).describe('Full-jitter backoff: ceiling of the first retry delay.'),
  WEBHOOK_BACKOFF_CAP_MS: ms().default(3_600_000).describe('Full-jitter backoff: largest retry delay.'),
  WEBHOOK_TIMEOUT_MS: ms().default(10_000).describe('Per-attempt HTTP timeout.'),
  WEBHOOK_MAX_PAYLOAD_BYTES: ms().default(256 * 1024).describe('Largest webhook payload; larger events are refused with 413.'),
  WEBHOOK_ROTATION_GRACE_SECONDS: z.coerce.number().int().min(0).default(86_400).describe('How long the previous secret keeps signing after a rotation (two active secrets).'),
  EVENTS_RETENTION_HOURS: z.coerce
    .number()
    .int()
    .min(1)
    .max(90 * 24)
    .default(30 * 24)
    .describe('How long every published event is kept (whatever its endpoints\' state) for recovery to endpoints that missed it: 1 hour to 90 days, default 30 days.'),
  EVENTS_RETENTION_SWEEP_MS: ms().default(60_000).describe('How often expired events are deleted (in batches).'),
  ENDPOINT_BREAKER_OPEN_AFTER: z.coerce.number().int().positive().default(5).describe('Consecutive failures that open an endpoint breaker.'),
  ENDPOINT_BREAKER_COOLDOWN_MS: ms().default(60_000).describe('How long an open endpoint breaker holds deliveries back.'),
  ENDPOINT_DISABLE_AFTER: z.coerce.number().int().positive().default(50).describe('Consecutive failures that disable an endpoint (with a notice).'),
  SSRF_ALLOW_LOOPBACK: flag.default(false).describe('Allow loopback webhook targets (tests and local development only).'),
  SSRF_ALLOW_PRIVATE: flag.default(false).describe('Allow RFC 1918 / ULA / link-local webhook targets (trusted networks only).'),
  SMTP_HOST: z.string().min(1).default('127.0.0.1').describe('SMTP relay host of the email provider.'),
  SMTP_PORT: z.coerce.number().int().min(1).max(65_535).default(1025).describe('SMTP relay port.'),
  SMTP_SECURE: flag.default(false).describe('Implicit TLS (port 465 style); otherwise STARTTLS when offered.'),
  SMTP_USER: z.string().optional().describe('SMTP username (with SMTP_PASSWORD).'),
  SMTP_PASSWORD: z.string().optional().describe('SMTP password. Never logged.'),
  SMTP_IGNORE_TLS: flag.default(false).describe('Never upgrade to STARTTLS (local relays without certificates).'),
  EMAIL_FROM: z.string().min(3).default('Bulwark <no-reply@bulwark.local>').describe('From address of emails.'),
  EMAIL_RATE_PER_SECOND: z.coerce.number().int().positive().default(50).describe('Emails handed to the SMTP provider per second (BullMQ limiter).'),
  SMS_RATE_PER_SECOND: z.coerce.number().int().positive().default(10).describe('SMS handed to the SMS provider per second (BullMQ limiter).'),
  PROVIDER_CHECK_INTERVAL_MS: ms().default(30_000).describe('How often each email/SMS provider is checked (SMTP: connect and greet) for notifications_provider_up and GET /v1/providers/health.'),
  MESSAGE_MAX_ATTEMPTS: z.coerce.number().int().min(1).default(8).describe('Send attempts per email/SMS.'),
  PROVIDER_WEBHOOK_SECRETS: list()
    .refine((s) => s.length <= 2 && s.every((x) => x.length >= 16), 'at most two secrets of at least 16 characters')
    .describe('Secrets that verify provider delivery/bounce/complaint webhooks (comma-separated, two during a rotation). Unset: those webhooks are refused (401). Never logged.'),
  WEBHOOK_TOLERANCE_SECONDS: z.coerce.number().int().positive().default(300).describe('Largest accepted age of a provider webhook signature timestamp.'),
  KAFKA_BROKERS: z.string().min(1).optional().describe('Comma-separated Kafka bootstrap brokers; required when EVENTS_ENABLED.'),
  EVENTS_ENABLED: flag.default(true).describe('Consume domain events (orders, payments) and turn them into webhook notifications.'),
  EVENTS_TOPICS: list().default(['orders.events', 'payments.events']).describe('Topics of domain events to consume (must exist).'),
  EVENTS_GROUP: z.string().min(1).default('notifications').describe('Kafka consumer group.'),
  EVENTS_TENANT: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).default('platform').describe('Tenant whose endpoints receive notifications made from domain events (a tenant id as in /v1/tenants/{tenantId}, where its endpoints are managed).'),
  IDENTITY_URL: z.url().optional().describe("Base URL of identity: its token endpoint (/oidc/token) and internal accounts API, for the order confirmation mail. Unset (with IDENTITY_CLIENT_SECRET): no confirmation mails."),
  IDENTITY_CLIENT_ID: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/).default('notifications').describe("notifications' client id at identity (an OIDC_SERVICE_CLIENTS entry there)."),
  IDENTITY_CLIENT_SECRET: z.string().min(32).optional().describe("notifications' client secret at identity (client credentials, client_secret_basic). Never logged."),
  IDENTITY_TIMEOUT_MS: ms().default(3_000).describe('Longest wait for identity per token or account request.'),
}).superRefine((c, ctx) => {
  if ((c.IDENTITY_URL === undefined) !== (c.IDENTITY_CLIENT_SECRET === undefined)) {
    ctx.addIssue({ code: 'custom', path: [c.IDENTITY_URL === undefined ? 'IDENTITY_URL' : 'IDENTITY_CLIENT_SECRET'], message: 'IDENTITY_URL and IDENTITY_CLIENT_SECRET go together (both set: order confirmation mails; neither: none)' });
  }
});

export type NotificationsConfig = z.output<typeof notificationsConfigSchema>;

export function loadNotificationsConfig(env: Record<string, string | undefined> = process.env): NotificationsConfig {
  return loadConfig(notificationsConfigSchema, env);
}
