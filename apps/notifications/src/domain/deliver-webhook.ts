/**
 * The webhook job: one attempt of one delivery. The delivery row is the
 * truth (a job for a delivery no longer pending does nothing). The endpoint's
 * breaker holds attempts back while open — a hold consumes no queue attempt
 * and grows no backoff; after the cool-down one delivery probes (half-open),
 * and its success releases the held ones at once. Every real attempt is logged with
 * status, latency and response snippet, and moves the endpoint's health in
 * the same transaction. Failures retry with full-jitter backoff until the
 * attempts or the retry horizon run out (then the job is dead-lettered);
 * enough consecutive failures disable the endpoint, with a notice. The job
 * names only the delivery: its tenant is read in the system context
 * (`notifications.webhook-worker`, one indexed row), and the attempt runs in
 * that tenant's scope, seeing only its endpoint, secrets and deliveries.
 */
import { randomUUID } from 'node:crypto';
import { withSystemContext, withTenant, withTransaction, type DbPool } from '@bulwark/db';
import { NonRetryableError, type JobHandler } from '@bulwark/jobs';
import type { Logger } from 'pino';
import { deliver, type DeliveryResult } from '../delivery.ts';
import { mayDeliver, recordOutcome, type HealthPolicy } from './endpoint-breaker.ts';
import type { NotificationsMetrics } from '../metrics.ts';
import type { SsrfPolicy } from '../ssrf.ts';
import { hasEarlierPending, killDelivery, loadDeliveryWork, recordDeliveryAttempt, tenantOfDelivery } from '../store/deliveries-store.ts';
import { claimBreakerProbe, clearEndpointFailures, lockEndpointHealth, saveEndpointHealth } from '../store/endpoints-store.ts';
import type { DeliveryJob } from './dispatcher.ts';
import { publishEvent } from './publish-event.ts';

export const ENDPOINT_DISABLED_EVENT = 'bulwark.endpoint.disabled';

export interface WebhookWorkerDeps {
  pool: DbPool;
  health: HealthPolicy;
  maxAttempts: number;
  horizonMs: number;
  timeoutMs: number;
  maxPayloadBytes: number;
  ssrf: SsrfPolicy;
  log: Logger;
  metrics: NotificationsMetrics;
  /** Asks the dispatcher to run now: an ordered endpoint's next delivery may go, or a disable notice was written. */
  dispatch: () => void;
  /** The endpoint recovered (its probe succeeded): its held deliveries go now, rate-limited per endpoint. */
  release?: (endpointId: string) => Promise<unknown>;
}

/** How long a claimed probe keeps the breaker closed to the others (its request's timeout, and a margin). */
const PROBE_MARGIN_MS = 1_000;
/** Longest hold behind another delivery's probe before looking again. */
const PROBE_RECHECK_MS = 2_000;
/** Shortest hold, so a hold never spins on clocks a few ms apart. */
const MIN_HOLD_MS = 50;

export function createWebhookHandler(deps: WebhookWorkerDeps): JobHandler<DeliveryJob> {
  const attempt = attemptDelivery(deps);
  return async (job) => {
    const tenant = await withSystemContext(deps.pool, 'notifications.webhook-worker', () => tenantOfDelivery(deps.pool, job.data.deliveryId));
    if (tenant === undefined) return { skipped: 'missing' };
    return withTenant(tenant, () => attempt(job));
  };
}

/** One attempt, in the delivery's tenant scope. */
function attemptDelivery(deps: WebhookWorkerDeps): JobHandler<DeliveryJob> {
  return async (job) => {
    const work = await loadDeliveryWork(deps.pool, job.data.deliveryId);
    if (!work || work.status !== 'pending') return { skipped: work?.status ?? 'missing' };
    const expired = Date.now() - work.createdAtMs > deps.horizonMs;
    const giveUp = (reason: string) => settleDead(work.id, work.ordered, reason);
    if (work.health.disabled) return giveUp('endpoint disabled');
    if (work.ordered && (await hasEarlierPending(deps.pool, work.id))) {
      // Dispatch offers only the head of an ordered endpoint; a stale or replayed job waits its turn.
      if (expired) return giveUp('retry horizon passed while an earlier delivery was pending');
      throw new Error('an earlier delivery of this ordered endpoint is still pending');
    }
    const now = Date.now();
    const gate = mayDeliver(work.health, now);
    let holdUntil = gate.ok ? undefined : now + (gate.retryInMs ?? 0);
    if (gate.ok && gate.probe) {
      const claim = await claimBreakerProbe(deps.pool, work.endpointId, now, deps.timeoutMs + PROBE_MARGIN_MS);
      // Another delivery probes: wait for its verdict (its success releases this job), looking again now and then
      // in case this run read the breaker just before the release and so missed it.
      if (!claim.probe && claim.openUntil !== undefined) holdUntil = Math.min(claim.openUntil, now + PROBE_RECHECK_MS);
    }
    if (holdUntil !== undefined) {
      // Held by the breaker: not this delivery's failure, so no attempt is consumed and the backoff does not grow.
      deps.metrics.deliveryAttempts.inc({ outcome: 'skipped' });
      if (expired) return giveUp('retry horizon passed while the endpoint breaker was open');
      throw await job.holdUntil(Math.max(holdUntil, Date.now() + MIN_HOLD_MS));
    }

    let result: DeliveryResult;
    try {
      result = await deliver({ url: work.url, body: work.payload, secrets: work.secrets, eventId: work.eventId, eventType: work.eventType, timeoutMs: deps.timeoutMs, maxPayloadBytes: deps.maxPayloadBytes, ssrf: deps.ssrf, signal: job.signal });
    } catch (err) {
      return giveUp((err as Error).message); // payload over the limit or a bad URL: retrying cannot help
    }
    // Handed back at shutdown: the job runs again elsewhere; this cut-off attempt says nothing about the endpoint.
    if (job.signal.aborted) throw job.signal.reason instanceof Error ? job.signal.reason : new Error('delivery aborted');
    deps.metrics.deliveryLatency.observe(result.latencyMs / 1000);
    const attempt = { statusCode: result.status, latencyMs: result.latencyMs, responseSnippet: result.responseSnippet };

    if (result.ok && work.health.consecutiveFailures === 0 && work.health.openUntil === undefined) {
      // The common case: a healthy endpoint answered. One statement, no lock on the endpoint row.
      if (!(await recordDeliveryAttempt(deps.pool, work.id, { ...attempt, ok: true, error: undefined, final: false }))) return { skipped: 'settled by another run' };
      await clearEndpointFailures(deps.pool, work.endpointId); // a failure recorded meanwhile by another delivery is cleared too
      deps.metrics.deliveryAttempts.inc({ outcome: 'succeeded' });
      if (work.ordered) deps.dispatch();
      return { status: result.status, attempt: job.attempt };
    }

    // A failure, or a success after failures: count it against the endpoint under its row lock.
    const outOfAttempts = job.attempt >= deps.maxAttempts;
    const outcome = await withTransaction(deps.pool, async (tx) => {
      const locked = (await lockEndpointHealth(tx, work.endpointId)) ?? { ...work.health, tenantId: work.tenantId };
      const { state, event } = recordOutcome(locked, result.ok, Date.now(), deps.health);
      const final = !result.ok && (outOfAttempts || expired || state.disabled);
      const error = result.error ?? (result.ok ? undefined : `receiver answered ${result.status}`);
      const recorded = await recordDeliveryAttempt(tx, work.id, { ...attempt, ok: result.ok, error, final });
      if (!recorded) return { recorded, final, event: undefined, state };
      await saveEndpointHealth(tx, work.endpointId, state, event === 'disabled' ? `disabled after ${state.consecutiveFailures} consecutive failed deliveries` : undefined);
      if (event === 'disabled') {
        const occurredAt = new Date().toISOString();
        await publishEvent(tx, locked.tenantId, { id: randomUUID(), type: ENDPOINT_DISABLED_EVENT, occurredAt, data: { endpointId: work.endpointId, url: work.url, consecutiveFailures: state.consecutiveFailures } }, deps.maxPayloadBytes);
      }
      return { recorded, final, event, state };
    });
    if (!outcome.recorded) return { skipped: 'settled by another run' };
    if (outcome.event === 'recovered') {
      // Not awaited: a big backlog takes a while to reschedule, and a failure leaves the holds to run out by themselves.
      deps.release?.(work.endpointId).catch((err: unknown) => deps.log.warn({ err, endpointId: work.endpointId }, 'releasing held deliveries failed; they run when their holds end'));
    }
    if (outcome.event) {
      deps.metrics.endpointHealth.inc({ event: outcome.event });
      const fields = { endpointId: work.endpointId, url: work.url, consecutiveFailures: outcome.state.consecutiveFailures };
      if (outcome.event === 'disabled') deps.dispatch();
      if (outcome.event === 'disabled') deps.log.warn(fields, 'webhook endpoint disabled after consecutive failures (notice sent to the tenant\'s other endpoints)');
      else deps.log.info(fields, `webhook endpoint ${outcome.event}`);
    }
    if (result.ok) {
      deps.metrics.deliveryAttempts.inc({ outcome: 'succeeded' });
      if (work.ordered) deps.dispatch();
      return { status: result.status, attempt: job.attempt };
    }
    deps.metrics.deliveryAttempts.inc({ outcome: outcome.final ? 'dead' : 'failed' });
    const why = result.error ?? `receiver answered ${result.status}`;
    if (!outcome.final) throw new Error(why);
    if (work.ordered) deps.dispatch();
    if (outOfAttempts) throw new Error(`${why} (last attempt)`);
    throw new NonRetryableError(outcome.state.disabled ? `${why}; endpoint disabled` : `${why}; retry horizon passed`);
  };

  async function settleDead(deliveryId: string, ordered: boolean, reason: string): Promise<never> {
    if (await killDelivery(deps.pool, deliveryId, reason)) {
      deps.metrics.deliveryAttempts.inc({ outcome: 'dead' });
      if (ordered) deps.dispatch();
    }
    throw new NonRetryableError(reason);
  }
}
