/**
 * The payments service's client of the PSP: every call goes through one
 * opossum breaker with a timeout and carries the caller's Idempotency-Key,
 * so a retry after a timeout or a 5xx reaches the same PSP operation and
 * never charges twice. 4xx answers are business outcomes (declined, invalid
 * state) and neither trip the breaker nor throw; timeouts, 5xx and network
 * errors throw PAYMENTS_PSP_TIMEOUT / PAYMENTS_PSP_UNAVAILABLE.
 */
import CircuitBreaker from 'opossum';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type { PaymentIntent, Transition } from './psp/intent.ts';
import { paymentsError } from './errors.ts';

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
  readonly state: 'open' | 'half-open' | 'closed';
  close(): void;
}

class PspServerError extends Error {
  readonly status: number;
  constructor(status: number) {
    super(`PSP answered ${status}`);
    this.status = status;
  }
}

export function createPspClient(options: PspClientOptions): PspClient {
  const calls = new Counter({ name: 'payments_psp_calls_total', help: 'PSP calls by outcome (ok, rejected, timeout, unavailable, open).', labelNames: ['outcome'], registers: [options.registry] });
  const transitions = new Counter({ name: 'payments_psp_breaker_transitions_total', help: 'PSP circuit breaker state changes.', labelNames: ['to'], registers: [options.registry] });

  const breakerEnabled = options.breakerEnabled ?? true;
  const attempt = async (c: PspCall): Promise<PspResult> => {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (c.body !== undefined) headers['content-type'] = 'application/json';
    if (c.key) headers['idempotency-key'] = c.key;
    if (c.simulate) headers['psp-simulate'] = c.simulate;
    const res = await fetch(`${options.baseUrl}${c.path}`, {
      method: c.method,
      headers,
      body: c.body === undefined ? undefined : JSON.stringify(c.body),
      // A little past the breaker's timeout, so the socket is let go after opossum has answered.
      // Without the breaker this signal is the call's only timeout.
      signal: AbortSignal.timeout(breakerEnabled ? options.timeoutMs + 1_000 : options.timeoutMs),
    }).catch((err: unknown) => {
      if ((err as { name?: unknown } | null)?.name === 'TimeoutError') throw Object.assign(new Error('PSP call timed out'), { code: 'ETIMEDOUT' });
      throw err;
    });
    const text = await res.text();
    if (res.status >= 500) throw new PspServerError(res.status);
    const body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    if (res.ok) return { ok: true, intent: body as unknown as PaymentIntent, body };
    return { ok: false, status: res.status, code: String(body.code ?? ''), message: String(body.detail ?? ''), intent: body.intent as PaymentIntent | undefined };
  };

  const breaker = new CircuitBreaker(attempt, {
    name: 'psp',
    timeout: options.timeoutMs,
    errorThresholdPercentage: options.breaker.errorThresholdPercentage,
    volumeThreshold: options.breaker.volumeThreshold,
    resetTimeout: options.breaker.resetTimeoutMs,
    rollingCountTimeout: 10_000,
    rollingCountBuckets: 10,
  });
  // Series exist from the start at 0, so increase() sees the first opening.
  for (const to of ['open', 'half-open', 'closed']) transitions.inc({ to }, 0);
  const transition = (to: 'open' | 'half-open' | 'closed') => () => {
    transitions.inc({ to });
    options.log[to === 'open' ? 'warn' : 'info']({ upstream: 'psp', state: to }, `psp circuit breaker ${to}`);
  };
  breaker.on('open', transition('open'));
  breaker.on('halfOpen', transition('half-open'));
  breaker.on('close', transition('closed'));

  async function call(c: PspCall): Promise<PspResult> {
    try {
      const result = breakerEnabled ? await breaker.fire(c) : await attempt(c);
      calls.inc({ outcome: result.ok ? 'ok' : 'rejected' });
      return result;
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code === 'ETIMEDOUT') {
        calls.inc({ outcome: 'timeout' });
        throw paymentsError('PAYMENTS_PSP_TIMEOUT', `the PSP did not answer within ${options.timeoutMs} ms; retry with the same Idempotency-Key`, { retryAfterSeconds: 1 });
      }
      calls.inc({ outcome: code === 'EOPENBREAKER' ? 'open' : 'unavailable' });
      options.log.warn({ upstream: 'psp', path: c.path, err: (err as Error).message }, 'psp call failed');
      throw paymentsError('PAYMENTS_PSP_UNAVAILABLE', code === 'EOPENBREAKER' ? 'the PSP circuit breaker is open' : 'the PSP is unavailable', { retryAfterSeconds: code === 'EOPENBREAKER' ? Math.ceil(options.breaker.resetTimeoutMs / 1000) : 1 });
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
      return breaker.halfOpen ? 'half-open' : breaker.opened ? 'open' : 'closed';
    },
    close() {
      breaker.shutdown();
    },
  };
}
