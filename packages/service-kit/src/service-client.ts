/**
 * `@bulwark/service-kit/service-client`: the one HTTP client for calls from a
 * service to another service (orders → inventory/payments) or to an outside
 * API (payments → PSP). Fetch with a per-call timeout (an AbortSignal, so the
 * socket is let go when the caller gives up), through an opossum circuit
 * breaker that counts only transient failures. The shared contract:
 *
 * - below 500 the call resolves with `{ status, headers, body }`: a 4xx is a
 *   business answer (declined, conflict, not found) for the caller to read,
 *   and neither trips the breaker nor throws;
 * - a timeout, a network error, a cut response, a 5xx or an open circuit
 *   rejects with TransientCallError (`outcome` says which): the effect is
 *   unknown, retry with the same Idempotency-Key.
 *
 * With a `tokens` provider (client credentials, ./client-credentials.ts) each
 * call carries `Authorization: Bearer …`; a 401 drops the cached token and the
 * call is sent once more with a new one (the callee withdrew a key early). The
 * token is fetched outside the breaker, so identity being away never opens the
 * callee's circuit. Trace context is propagated on every call. Loads neither
 * Express nor the OpenTelemetry SDK.
 */
import CircuitBreaker from 'opossum';
import type { TokenProvider } from './client-credentials.ts';
import { propagationHeaders } from './tracing.ts';

/** How one call ended: the label of the callers' call counters. */
export type CallOutcome = '2xx' | '4xx' | '5xx' | 'timeout' | 'network' | 'circuit_open' | 'unauthorized' | 'token';

export type BreakerState = 'open' | 'half-open' | 'closed';

export interface BreakerSettings {
  /** The circuit opens above this percentage of failed calls… */
  errorThresholdPercentage: number;
  /** …once this many calls were seen in the rolling window. */
  volumeThreshold: number;
  /** An open circuit lets one call through after this long. */
  resetTimeoutMs: number;
  /** Rolling window of the statistics (default 10 s, 10 buckets). */
  rollingWindowMs?: number;
}

/** The log lines of breaker transitions (a pino logger fits). */
export interface ServiceClientLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

export interface ServiceClientOptions {
  /** The callee: breaker name and the `service` field of log lines. */
  name: string;
  baseUrl: string;
  /** Default per-call timeout; a call may ask for another. */
  timeoutMs: number;
  breaker: BreakerSettings;
  /** false: no breaker, only the timeout (a benchmark's baseline; never in a deployment). Default true. */
  breakerEnabled?: boolean;
  /** The caller's own access token (client credentials); none: calls carry no Authorization. */
  tokens?: TokenProvider;
  log: ServiceClientLog;
  /** Told how each call ended (metrics). */
  onOutcome?: (outcome: CallOutcome) => void;
  /** Told about each breaker transition (metrics). */
  onStateChange?: (state: BreakerState) => void;
}

export interface ServiceRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path and query, appended to the base URL. */
  path: string;
  /** Sent as JSON. */
  body?: unknown;
  idempotencyKey?: string;
  /** Further headers (e.g. the tenant the caller acts for). */
  headers?: Record<string, string>;
  timeoutMs?: number;
}

/** An answer below 500; `body` is the parsed JSON, the text when it is not JSON, undefined when empty. */
export interface ServiceResponse<B = unknown> {
  status: number;
  headers: Headers;
  body: B;
}

/** The outcome is unknown (or the call was never sent): retry with the same idempotency key. */
export class TransientCallError extends Error {
  /** Kept for callers that record why (e.g. the saga's step outcome). */
  readonly reason: string;
  readonly outcome: Exclude<CallOutcome, '2xx' | '4xx'> | undefined;
  /** The callee's status for '5xx' and 'unauthorized'. */
  readonly status: number | undefined;
  constructor(reason: string, options: { outcome?: TransientCallError['outcome']; status?: number; cause?: unknown } = {}) {
    super(reason, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TransientCallError';
    this.reason = reason;
    this.outcome = options.outcome;
    this.status = options.status;
  }
}

export interface ServiceClient {
  readonly name: string;
  /** One call: resolves with any status below 500, rejects with TransientCallError otherwise. */
  call<B = unknown>(request: ServiceRequest): Promise<ServiceResponse<B>>;
  readonly breakerState: BreakerState;
  close(): void;
}

export function createServiceClient(options: ServiceClientOptions): ServiceClient {
  const { name, log, tokens } = options;
  const base = options.baseUrl.replace(/\/+$/, '');
  const breakerEnabled = options.breakerEnabled ?? true;
  const report = (outcome: CallOutcome) => options.onOutcome?.(outcome);
  const fail = (outcome: NonNullable<TransientCallError['outcome']>, reason: string, extra: { status?: number; cause?: unknown } = {}): TransientCallError => {
    report(outcome);
    return new TransientCallError(reason, { outcome, ...extra });
  };

  const breaker = new CircuitBreaker((attempt: () => Promise<ServiceResponse>) => attempt(), {
    name,
    timeout: false, // each attempt carries its own AbortSignal timeout
    errorThresholdPercentage: options.breaker.errorThresholdPercentage,
    volumeThreshold: options.breaker.volumeThreshold,
    rollingCountTimeout: options.breaker.rollingWindowMs ?? 10_000,
    rollingCountBuckets: 10,
    resetTimeout: options.breaker.resetTimeoutMs,
  });
  const transition = (state: BreakerState) => () => {
    options.onStateChange?.(state);
    log[state === 'open' ? 'warn' : 'info']({ service: name, state }, `${name} circuit breaker ${state}`);
  };
  breaker.on('open', transition('open'));
  breaker.on('halfOpen', transition('half-open'));
  breaker.on('close', transition('closed'));

  async function send(request: ServiceRequest, token: string | undefined): Promise<ServiceResponse> {
    const headers: Record<string, string> = { accept: 'application/json', ...propagationHeaders(), ...request.headers };
    if (request.body !== undefined) headers['content-type'] = 'application/json';
    if (request.idempotencyKey) headers['idempotency-key'] = request.idempotencyKey;
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    let res: Response;
    try {
      res = await fetch(`${base}${request.path}`, {
        method: request.method,
        headers,
        body: request.body === undefined ? undefined : JSON.stringify(request.body),
        signal: AbortSignal.timeout(request.timeoutMs ?? options.timeoutMs),
      });
    } catch (err) {
      const errName = (err as { name?: unknown } | null)?.name; // a DOMException; not instanceof this realm's Error under test VMs
      const timeout = errName === 'TimeoutError' || errName === 'AbortError';
      throw timeout ? fail('timeout', `${name} timeout`, { cause: err }) : fail('network', `${name} unreachable`, { cause: err });
    }
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      throw fail('timeout', `${name} response cut`, { cause: err });
    }
    if (res.status >= 500) throw fail('5xx', `${name} answered ${res.status}`, { status: res.status });
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = text;
    }
    return { status: res.status, headers: res.headers, body };
  }

  async function tokenFor(): Promise<string | undefined> {
    if (!tokens) return undefined;
    try {
      return await tokens.token();
    } catch (err) {
      throw fail('token', `${name}: no service token (${(err as Error).message})`, { cause: err });
    }
  }

  async function once(request: ServiceRequest, token: string | undefined): Promise<ServiceResponse> {
    const attempt = () => send(request, token);
    try {
      return breakerEnabled ? await breaker.fire(attempt) : await attempt();
    } catch (err) {
      if (err instanceof TransientCallError) throw err;
      if ((err as { code?: unknown }).code === 'EOPENBREAKER') throw fail('circuit_open', `${name} circuit open`, { cause: err });
      throw fail('network', `${name} call failed`, { cause: err });
    }
  }

  return {
    name,
    get breakerState() {
      if (breaker.halfOpen) return 'half-open';
      return breaker.opened ? 'open' : 'closed';
    },
    async call<B>(request: ServiceRequest): Promise<ServiceResponse<B>> {
      let token = await tokenFor();
      let res = await once(request, token);
      if (res.status === 401 && tokens && token !== undefined) {
        // The callee no longer takes the cached token: once more with a new one.
        tokens.invalidate(token);
        token = await tokenFor();
        res = await once(request, token);
        const code = (res.body as { code?: unknown } | undefined)?.code;
        if (res.status === 401) throw fail('unauthorized', `${name} refused our service token (401${typeof code === 'string' ? ` ${code}` : ''})`, { status: 401 });
      }
      report(res.status >= 400 ? '4xx' : '2xx');
      return res as ServiceResponse<B>;
    },
    close() {
      breaker.shutdown();
    },
  };
}
