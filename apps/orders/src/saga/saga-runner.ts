/**
 * The checkout saga runner: polls for due sagas, claims them with a lease
 * (FOR UPDATE SKIP LOCKED: replicas share the work, never a saga), and drives
 * each one step by step — run the step (HTTP, idempotent by key), decide the
 * next state (pure), record state + domain event in one transaction — until
 * it completes, fails, or has to wait for a backoff (then the lease is given
 * back). A runner that dies holding a lease loses it after `leaseMs`; the
 * next claim resumes the saga at its last recorded step. A saga found past
 * its deadline with forward steps left is compensated, counted in
 * `orders_checkout_sagas_expired_total` and logged at warn.
 */
import { randomUUID } from 'node:crypto';
import { Counter, Gauge, type Registry } from 'prom-client';
import { withSystemContext, withTenant, type DbLogger, type DbPool } from '@bulwark/db';
import { decide, expire, isTerminal, type Decision, type SagaPolicy, type SagaState } from './checkout-saga.ts';
import { claimDueSagas, countSagas, recordDecision, releaseLease, type ClaimedSaga } from '../store/saga-store.ts';
import { executeStep, type StepDeps } from './saga-steps.ts';

export interface SagaRunnerOptions {
  pool: DbPool;
  log: DbLogger;
  registry: Registry;
  deps: StepDeps;
  policy: SagaPolicy;
  leaseMs: number;
  pollIntervalMs: number;
  /** Sagas driven at once by this runner. */
  concurrency: number;
}

export interface SagaRunner {
  start(): void;
  stop(): Promise<void>;
  readonly running: boolean;
  /** Sagas this runner is driving right now. */
  readonly active: number;
  /** Wakes the poll loop now (a saga was just created) instead of at the next interval. */
  nudge(): void;
}

export function createSagaRunner(options: SagaRunnerOptions): SagaRunner {
  const { pool, log, deps, policy } = options;
  const owner = `runner-${randomUUID()}`;
  const active = new Set<Promise<void>>();
  /** Sagas this runner is driving now (by id). */
  const driving = new Set<string>();
  let stopped = true;
  let loop: Promise<void> | undefined;
  let wake: (() => void) | undefined;

  const finished = new Counter({ name: 'orders_checkout_sagas_finished_total', help: 'Checkout sagas that reached a terminal status.', labelNames: ['status'], registers: [options.registry] });
  const steps = new Counter({ name: 'orders_checkout_saga_steps_total', help: 'Saga step outcomes by step and outcome (ok, rejected, transient).', labelNames: ['step', 'outcome'], registers: [options.registry] });
  const expiredTotal = new Counter({
    name: 'orders_checkout_sagas_expired_total',
    help: 'Checkout sagas compensated because their deadline passed before the forward steps finished (alert on any increase).',
    registers: [options.registry],
  });
  new Gauge({
    name: 'orders_checkout_sagas',
    help: 'Checkout sagas by status; `overdue` = running past their deadline (should be 0: the runner compensates them).',
    labelNames: ['status'],
    registers: [options.registry],
    async collect() {
      const rows = await withSystemContext(pool, 'orders.saga-metrics', () => countSagas(pool)).catch(() => []);
      this.reset();
      let overdue = 0;
      for (const r of rows) {
        this.set({ status: r.status }, r.count);
        overdue += r.overdue;
      }
      this.set({ status: 'overdue' }, overdue);
    },
  });

  async function drive(initial: SagaState): Promise<void> {
    let state = initial;
    while (!stopped) {
      let decision: Decision;
      let outcome: Parameters<typeof recordDecision>[1]['outcome'];
      const now = Date.now();
      const expiry = expire(state, now);
      if (expiry.expired) {
        decision = expiry;
        outcome = { kind: 'expired' };
      } else {
        outcome = await executeStep(state, deps);
        steps.inc({ step: state.step ?? 'none', outcome: outcome.kind });
        decision = decide(state, outcome, Date.now(), policy);
      }
      const next = decision.state;
      const continueNow = !isTerminal(next.status) && next.nextAttemptAt <= Date.now();
      const recorded = await recordDecision(pool, { owner, leaseMs: options.leaseMs, from: state, to: next, outcome, event: decision.event, expired: decision.expired, keepLease: continueNow });
      if (!recorded) {
        log.warn({ sagaId: state.sagaId, orderId: state.orderId, step: state.step }, 'saga lease lost; another runner resumes it');
        return;
      }
      if (decision.expired) {
        expiredTotal.inc();
        log.warn({ sagaId: state.sagaId, orderId: state.orderId, step: state.step, deadlineAt: new Date(state.deadlineAt).toISOString() }, 'checkout saga past its deadline: compensating');
      }
      if (outcome.kind !== 'ok' && outcome.kind !== 'expired') log.info({ sagaId: state.sagaId, step: state.step, outcome }, 'saga step did not succeed');
      state = next;
      if (isTerminal(state.status)) {
        finished.inc({ status: state.status });
        log.info({ sagaId: state.sagaId, orderId: state.orderId, status: state.status, failure: state.failure }, 'checkout saga finished');
        return;
      }
      if (!continueNow) return; // lease given back; claimed again when due
    }
    await releaseLease(pool, state.sagaId, owner).catch(() => undefined);
  }

  async function poll(): Promise<void> {
    while (!stopped) {
      const room = options.concurrency - active.size;
      let claimed: ClaimedSaga[] = [];
      if (room > 0) {
        // The claim sees every tenant's sagas; each saga is then driven as its tenant (its order, its calls downstream).
        claimed = await withSystemContext(pool, 'orders.saga-claim', () => claimDueSagas(pool, owner, room, options.leaseMs)).catch((err: unknown) => {
          log.error({ err }, 'saga claim failed');
          return [];
        });
        for (const { state: saga, tenant } of claimed) {
          // A step slower than the lease (a first call that also fetches the service token, a loaded box): this
          // runner claims its own saga again. Driving it twice would run the step twice; the claim has renewed
          // the lease, so the run in progress simply records its outcome.
          if (driving.has(saga.sagaId)) continue;
          driving.add(saga.sagaId);
          const run: Promise<void> = withTenant(tenant, () => drive(saga))
            .catch((err: unknown) => log.error({ err, sagaId: saga.sagaId }, 'saga run failed; resumed after its lease expires'))
            .finally(() => {
              driving.delete(saga.sagaId);
              active.delete(run);
              wake?.();
            });
          active.add(run);
        }
      }
      if (claimed.length === 0 || active.size >= options.concurrency) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, options.pollIntervalMs);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = undefined;
      }
    }
  }

  return {
    get running() {
      return !stopped;
    },
    get active() {
      return active.size;
    },
    start() {
      if (!stopped) return;
      stopped = false;
      loop = poll();
    },
    nudge() {
      wake?.();
    },
    async stop() {
      stopped = true;
      wake?.();
      await loop;
      await Promise.allSettled([...active]);
    },
  };
}
