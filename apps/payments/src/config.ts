/**
 * Every configuration key of the payments service and of the PSP simulator
 * process (src/psp/main.ts), with type, default and meaning; read once by
 * each main.ts (tests pass their own env object). The only reader of
 * process.env in this workspace.
 */
import { z } from 'zod';
import { baseConfigSchema, commaList, loadConfig } from '@bulwark/service-kit';

const flag = z.enum(['true', 'false']).transform((v) => v === 'true');
const list = () => commaList().default([]);

export const paymentsConfigSchema = baseConfigSchema.extend({
  PORT: z.coerce.number().int().min(0).max(65_535).default(8083).describe('TCP port to listen on; 0 picks a free port.'),
  DATABASE_URL: z.string().min(1).describe('PostgreSQL URL of the runtime role (bulwark_app): no owner, no superuser, no BYPASSRLS, so row-level security applies; checked at start.'),
  MIGRATION_DATABASE_URL: z.string().min(1).describe('PostgreSQL URL of the tables\' owner: migrations and grants at start.'),
  PAYMENTS_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]*$/).default('payments').describe('PostgreSQL schema holding payments, operations, ledger and webhook events.'),
  DB_POOL_MAX: z.coerce.number().int().positive().default(20).describe('Largest PostgreSQL pool size.'),
  JWKS_URL: z.url().describe("identity's JWKS (`<identity>/.well-known/jwks.json`): the service tokens on /v1/internal/payments (the orders saga's calls) are verified against it."),
  JWT_ISSUER: z.string().min(1).describe('Expected `iss` of service tokens: identity\'s JWT_ISSUER.'),
  JWT_AUDIENCE: z.string().min(1).default('bulwark').describe('Expected `aud` of service tokens: identity\'s JWT_AUDIENCE.'),
  INTERNAL_CLIENTS: list().default(['orders']).describe('Service clients (identity client ids) allowed on /v1/internal/payments; another service\'s token gets 403 CLIENT_NOT_ALLOWED.'),
  PSP_URL: z.url().default('http://127.0.0.1:8085').describe('Base URL of the PSP (the simulator locally).'),
  PSP_TIMEOUT_MS: z.coerce.number().int().positive().default(3_000).describe('Per-call PSP timeout (the shared service client aborts the request); a timed-out call answers 504 and is safe to retry with the same key.'),
  PSP_BREAKER_ERROR_PERCENT: z.coerce.number().min(1).max(100).default(50).describe('Failure percentage over the rolling window that opens the breaker.'),
  PSP_BREAKER_VOLUME: z.coerce.number().int().min(1).default(10).describe('Calls in the window before the breaker may open.'),
  PSP_BREAKER_RESET_MS: z.coerce.number().int().positive().default(5_000).describe('Open time before a half-open probe.'),
  PSP_BREAKER_ENABLED: flag.default(true).describe('Benchmark baseline only (`npm run bench -- checkout`): false calls the PSP without its circuit breaker, keeping the timeout. Never false in a deployment.'),
  PSP_WEBHOOK_SECRETS: list()
    .refine((s) => s.length <= 2 && s.every((x) => x.length >= 16), 'at most two secrets of at least 16 characters')
    .describe('Secrets that verify PSP webhooks (comma-separated; two during a rotation). Unset: every webhook is refused (401), a warning is logged at start. Never logged.'),
  WEBHOOK_TOLERANCE_SECONDS: z.coerce.number().int().positive().default(300).describe('Largest accepted age (or future skew) of a webhook signature timestamp.'),
  IDEMPOTENCY_TTL_SECONDS: z.coerce.number().int().positive().default(86_400).describe('How long an Idempotency-Key and its stored response live.'),
  IDEMPOTENCY_WAIT_MS: z.coerce.number().int().positive().default(15_000).describe('How long a duplicate waits for the in-flight request with its key before 409 (keep above PSP_TIMEOUT_MS).'),
  IDEMPOTENCY_ENABLED: flag.default(true).describe('Benchmark baseline only (`npm run bench -- checkout`): false replaces the Idempotency-Key store by a plain request transaction, so a retried request runs twice. Never false in a deployment.'),
  KAFKA_BROKERS: z.string().min(1).optional().describe('Comma-separated host:port of Kafka bootstrap brokers; required when EVENTS_ENABLED.'),
  EVENTS_ENABLED: flag.default(true).describe('Run the outbox relay that publishes payment events to Kafka (the outbox fills either way).'),
  PAYMENTS_TOPIC: z.string().min(1).default('payments.events').describe('Kafka topic of payment events.'),
  PAYMENTS_TOPIC_PARTITIONS: z.coerce.number().int().positive().default(6).describe('Partitions of PAYMENTS_TOPIC when provisioning it.'),
  OUTBOX_BATCH_SIZE: z.coerce.number().int().positive().default(200).describe('Events per relay round.'),
  OUTBOX_POLL_MS: z.coerce.number().int().positive().default(100).describe('Idle poll interval of the outbox relay.'),
  ORPHAN_RECONCILE_INTERVAL_MS: z.coerce.number().int().min(0).default(60_000).describe('Interval of the orphan authorization pass (authorizations at the PSP with no payment, voided after ORPHAN_GRACE_MS); 0 turns it off. One replica runs a pass at a time (PostgreSQL advisory lock).'),
  ORPHAN_GRACE_MS: z.coerce.number().int().min(0).default(900_000).describe('How long an authorization must stay without a payment row, as seen by the reconciler, before it is voided. Keep it well above how long clients retry a timed-out authorization with the same Idempotency-Key.'),
  ORPHAN_BATCH_SIZE: z.coerce.number().int().min(1).max(1_000).default(100).describe('PSP intents per list page, and most voids per orphan pass.'),
  PSP_FORWARD_SIMULATE_HEADER: flag.default(false).describe('Forward the psp-simulate header of an incoming request to the PSP (tests and demos only).'),
});

export type PaymentsConfig = z.output<typeof paymentsConfigSchema>;

export function loadPaymentsConfig(env: Record<string, string | undefined> = process.env): PaymentsConfig {
  return loadConfig(paymentsConfigSchema, env);
}

// ---- PSP simulator (src/psp/main.ts, its own process)

export const pspConfigSchema = baseConfigSchema.extend({
  PORT: z.coerce.number().int().min(0).max(65_535).default(8085).describe('TCP port of the simulator.'),
  PSP_WEBHOOK_URLS: list().describe('Comma-separated subscriber URLs that receive signed webhooks.'),
  PSP_WEBHOOK_SECRETS: list()
    .refine((s) => s.length <= 2 && s.every((x) => x.length >= 16), 'at most two secrets of at least 16 characters')
    .describe('Active signing secrets (comma-separated, newest first); two during a rotation; required when PSP_WEBHOOK_URLS is set. Never logged.'),
  PSP_WEBHOOK_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(10).describe('Delivery attempts per event and subscriber.'),
  PSP_WEBHOOK_BACKOFF_MS: z.coerce.number().int().min(1).default(100).describe('First retry delay; doubles per attempt, capped at 5 s.'),
  PSP_OUT_OF_ORDER_HOLD_MS: z.coerce.number().int().min(0).default(1_000).describe('How long an out-of-order event waits for its successor before it is sent anyway.'),
  PSP_TIMEOUT_HOLD_MS: z.coerce.number().int().min(0).default(30_000).describe('How long a simulated timeout holds the response (the operation itself has happened).'),
});

export type PspConfig = z.output<typeof pspConfigSchema>;

export function loadPspConfig(env: Record<string, string | undefined> = process.env): PspConfig {
  return loadConfig(pspConfigSchema, env);
}
