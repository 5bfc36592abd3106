/**
 * Payments' client of the PSP (the real provider in a deployment, the
 * simulator in src/psp/ locally): the shared service client
 * (@bulwark/service-kit/service-client: fetch, per-call timeout, opossum
 * breaker) with PSP answers mapped to payments' terms. Every call carries the
 * caller's Idempotency-Key, so a retry after a timeout or a 5xx reaches the
 * same PSP operation and never charges twice. 4xx answers are business
 * outcomes (declined, invalid state) and neither trip the breaker nor throw;
 * timeouts, 5xx and network errors throw PAYMENTS_PSP_TIMEOUT /
 * PAYMENTS_PSP_UNAVAILABLE.
 */
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import { createServiceClient, TransientCallError, type BreakerState, type CallOutcome } from '@bulwark/service-kit/service-client';
import type { PaymentIntent, Transition } from '../psp/intent.ts';
import { paymentsError } from '../errors.ts';

export type { PaymentIntent, Transition };

export type PspResult =
  /** `body` is the parsed JSON: the intent for an intent call, `{ data, hasMore }` for a list. */
  | { ok: true; intent: PaymentIntent; body: unknown }
  | { ok: false; status: number; code: string; message: string; intent?: PaymentIntent };

export interface PspClientOptions {
  baseUrl: string;
  timeoutMs: number;
  breaker: { errorThresholdPercentage: number; volumeThreshold: number; resetTimeoutMs: number };
  /** false: no breaker, only the per-call timeout (the checkout benchmark's baseline; never in a deployment). Default true. */
  breakerEnabled?: boolean;
  log: Logger;
  registry: Registry;
}

export interface PspCall {
  method: 'POST' | 'GET';
  path: string;
  key?: string;
  body?: unknown;
  /** Forwarded `psp-simulate` header (tests only). */
  simulate?: string;
}

export interface PspClient {
  call(call: PspCall): Promise<PspResult>;
  /**
   * One page of intents (oldest first) by status and creation time, after
   * the intent id `startingAfter`; throws like `call` when the PSP fails.
   */
  listIntents(query: { status: PaymentIntent['status']; createdBefore: string; startingAfter?: string; limit: number }): Promise<{ data: PaymentIntent[]; hasMore: boolean }>;
  readonly state: BreakerState;
  close(): void;
}

/** payments_psp_calls_total's outcomes (kept from before the shared client, for dashboards and alerts). */
const PSP_OUTCOME: Record<CallOutcome, 'ok' | 'rejected' | 'timeout' | 'unavailable' | 'open'> = {
  '2xx': 'ok',
  '4xx': 'rejected',
  timeout: 'timeout',
  '5xx': 'unavailable',
  network: 'unavailable',
  unauthorized: 'unavailable',
  token: 'unavailable',
  circuit_open: 'open',
};

export function createPspClient(options: PspClientOptions): PspClient {
  const calls = new Counter({ name: 'payments_psp_calls_total', help: 'PSP calls by outcome (ok, rejected, timeout, unavailable, open).', labelNames: ['outcome'], registers: [options.registry] });
  const transitions = new Counter({ name: 'payments_psp_breaker_transitions_total', help: 'PSP circuit breaker state changes.', labelNames: ['to'], registers: [options.registry] });
  // Series exist from the start at 0, so increase() sees the first opening.
  for (const to of ['open', 'half-open', 'closed']) transitions.inc({ to }, 0);

  const client = createServiceClient({
    name: 'psp',
    baseUrl: options.baseUrl,
    timeoutMs: options.timeoutMs,
    breaker: options.breaker,
    breakerEnabled: options.breakerEnabled,
    log: options.log,
    onOutcome: (outcome) => calls.inc({ outcome: PSP_OUTCOME[outcome] }),
    onStateChange: (to) => transitions.inc({ to }),
  });

  async function call(c: PspCall): Promise<PspResult> {
    try {
      const res = await client.call<Record<string, unknown> | undefined>({ method: c.method, path: c.path, body: c.body, idempotencyKey: c.key, headers: c.simulate ? { 'psp-simulate': c.simulate } : {} });
      const body = typeof res.body === 'object' && res.body !== null ? res.body : {};
      if (res.status < 300) return { ok: true, intent: body as unknown as PaymentIntent, body };
      return { ok: false, status: res.status, code: String(body.code ?? ''), message: String(body.detail ?? ''), intent: body.intent as PaymentIntent | undefined };
    } catch (err) {
      const outcome = err instanceof TransientCallError ? err.outcome : undefined;
      if (outcome === 'timeout') {
        throw paymentsError('PAYMENTS_PSP_TIMEOUT', `the PSP did not answer within ${options.timeoutMs} ms; retry with the same Idempotency-Key`, { retryAfterSeconds: 1 });
      }
      options.log.warn({ upstream: 'psp', path: c.path, err: (err as Error).message }, 'psp call failed');
      const open = outcome === 'circuit_open';
      throw paymentsError('PAYMENTS_PSP_UNAVAILABLE', open ? 'the PSP circuit breaker is open' : 'the PSP is unavailable', { retryAfterSeconds: open ? Math.ceil(options.breaker.resetTimeoutMs / 1000) : 1 });
    }
  }

  return {
    call,
    async listIntents(q) {
      const params = new URLSearchParams({ status: q.status, createdBefore: q.createdBefore, limit: String(q.limit) });
      if (q.startingAfter) params.set('startingAfter', q.startingAfter);
      const result = await call({ method: 'GET', path: `/v1/payment_intents?${params}` });
      if (!result.ok) throw paymentsError('PAYMENTS_PSP_REQUEST_REJECTED', `the PSP refused the intent list (${result.status} ${result.code}): ${result.message}`);
      return result.body as { data: PaymentIntent[]; hasMore: boolean };
    },
    get state() {
      return client.breakerState;
    },
    close() {
      client.close();
    },
  };
}
