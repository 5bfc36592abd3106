/**
 * RateLimiter: checks several policies for one request in one atomic Lua call
 * (check all, consume from all only if all admit), with policies replaceable
 * at runtime, a bounded Redis timeout, and a configured failure mode when
 * Redis is down or slow: `fail-open` (per-instance in-memory limiter) or
 * `fail-closed` (reject as unavailable). While degraded, Redis is bypassed and
 * probed by one request every `retryIntervalMs`; the first success recovers.
 */
import { Registry } from 'prom-client';
import { policyInvalid, policyUnknown } from './errors.ts';
import { defaultScope, scopePrefix } from './keys.ts';
import { LocalLimiter, type LocalEntry } from './local-limiter.ts';
import { RateLimitMetrics, type Outcome, type Source } from './metrics.ts';
import { compilePolicies, type CompiledPolicy, type PolicyConfig } from './policy.ts';
import { isNoScript, loadScript, type ScriptClient } from './script-loader.ts';

export type FailureMode = 'fail-open' | 'fail-closed';

/** pino-compatible logger subset. */
export interface Logger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

export interface RateLimiterOptions {
  /** ioredis client (Redis or Cluster). The limiter never closes it. */
  redis: ScriptClient;
  policies: readonly PolicyConfig[];
  /** Key prefix, without braces. Default `rl`. */
  prefix?: string;
  /** Longest wait for the Lua call before the failure mode applies. Default 100 ms. */
  timeoutMs?: number;
  /** What to do while Redis is down or slow. Default `fail-open`. */
  failureMode?: FailureMode;
  /** fail-open: each policy's local limit is `floor(limit / expectedInstances)` (at least 1). Default 1. */
  expectedInstances?: number;
  /** While degraded, how often one request probes Redis. Default 1000 ms. */
  retryIntervalMs?: number;
  /** prom-client registry for the metrics; a private one when omitted. */
  registry?: Registry;
  logger?: Logger;
  /** At most one log line per kind (degraded, failure, recovered) per interval. Default 10 000 ms. */
  logIntervalMs?: number;
  /**
   * Time source in ms passed to the script. Omit in production: the script then
   * uses Redis TIME, one clock for every gateway instance. For deterministic tests.
   */
  clock?: () => number;
  /** Bound on the keys the local fail-open limiter keeps. Default 100 000. */
  localMaxKeys?: number;
}

/** One policy applied to one subject, e.g. `{ policy: 'per-ip', subject: req.ip }`. */
export interface Hit {
  policy: string;
  subject: string;
}

export interface CheckOptions {
  /**
   * Cluster hash tag shared by all keys of this check; counters are per
   * (scope, policy, subject). Default: `<policy>:<subject>` of the first hit,
   * the request's primary identity. See README "Key design".
   */
  scope?: string;
  /** Units the request takes from every policy. Default 1. */
  cost?: number;
}

export interface PolicyDecision {
  name: string;
  policy: CompiledPolicy;
  /** Whether this policy alone would admit the request. */
  allowed: boolean;
  /** Units left after this decision (consumed only if the whole request was admitted). */
  remaining: number;
  /** ms until this policy's quota is whole again. */
  resetMs: number;
  /** ms until this policy could admit the request; 0 if it does, -1 never (cost above limit). */
  retryAfterMs: number;
}

export interface Decision {
  allowed: boolean;
  outcome: Outcome;
  /** Who decided: Redis, the local fail-open limiter, or nobody (fail-closed). */
  source: Source;
  /** 0 if allowed; else the longest wait among the rejecting policies (-1: never). */
  retryAfterMs: number;
  policies: PolicyDecision[];
}

interface LogState {
  last: number;
  suppressed: number;
}

const ALLOW_ALL: Decision = Object.freeze({ allowed: true, outcome: 'allowed', source: 'none', retryAfterMs: 0, policies: [] }) as Decision;

class RedisTimeoutError extends Error {
  constructor(ms: number) {
    super(`rate-limit script did not answer within ${ms} ms`);
    this.name = 'RedisTimeoutError';
  }
}

export class RateLimiter {
  readonly metrics: RateLimitMetrics;
  readonly #redis: ScriptClient;
  readonly #script = loadScript('check-policies-n');
  readonly #prefix: string;
  readonly #timeoutMs: number;
  readonly #failureMode: FailureMode;
  readonly #expectedInstances: number;
  readonly #retryIntervalMs: number;
  readonly #logger: Logger | undefined;
  readonly #logIntervalMs: number;
  readonly #clock: (() => number) | undefined;
  readonly #local: LocalLimiter;
  readonly #logs = new Map<string, LogState>();
  #policies: Map<string, CompiledPolicy>;
  #degradedSince: number | undefined;
  #retryAt = 0;
  #probing = false;

  constructor(options: RateLimiterOptions) {
    const prefix = options.prefix ?? 'rl';
    if (/[{}]/.test(prefix) || prefix === '') throw policyInvalid(`key prefix ${JSON.stringify(prefix)} must be non-empty and contain no braces`);
    this.#redis = options.redis;
    this.#prefix = prefix;
    this.#timeoutMs = options.timeoutMs ?? 100;
    this.#failureMode = options.failureMode ?? 'fail-open';
    this.#expectedInstances = Math.max(1, options.expectedInstances ?? 1);
    this.#retryIntervalMs = options.retryIntervalMs ?? 1000;
    this.#logger = options.logger;
    this.#logIntervalMs = options.logIntervalMs ?? 10_000;
    this.#clock = options.clock;
    this.#local = new LocalLimiter(options.localMaxKeys);
    this.metrics = new RateLimitMetrics(options.registry ?? new Registry());
    this.#policies = compilePolicies(options.policies);
  }

  /**
   * Replaces all policies; the next check uses them. Counters stay where they
   * are (keys do not depend on the limits), so a raised limit frees quota at
   * once and a lowered one applies to what was already used. Throws, keeping
   * the old set, if any policy is invalid.
   */
  setPolicies(policies: readonly PolicyConfig[]): void {
    this.#policies = compilePolicies(policies);
  }

  getPolicy(name: string): CompiledPolicy | undefined {
    return this.#policies.get(name);
  }

  get policies(): CompiledPolicy[] {
    return [...this.#policies.values()];
  }

  /** True while Redis is bypassed after a failure or timeout. */
  get degraded(): boolean {
    return this.#degradedSince !== undefined;
  }

  get failureMode(): FailureMode {
    return this.#failureMode;
  }

  /**
   * Checks all hits in one Redis round trip and admits the request only if
   * every policy admits it; a rejected request consumes nothing. Never hangs
   * longer than `timeoutMs`; never rejects for Redis trouble (the failure mode
   * decides). Throws only for an unknown policy or a bad cost.
   */
  async check(hits: readonly Hit[], options?: CheckOptions): Promise<Decision> {
    const n = hits.length;
    if (n === 0) return ALLOW_ALL;
    const cost = options?.cost ?? 1;
    if (!Number.isSafeInteger(cost) || cost < 1) throw policyInvalid(`cost must be a positive integer, got ${cost}`);
    const table = this.#policies;
    const first = hits[0]!;
    const prefix = scopePrefix(this.#prefix, options?.scope ?? defaultScope(first.policy, first.subject));
    const compiled = new Array<CompiledPolicy>(n);
    const argv = new Array<string>(n * 4 + 2);
    for (let i = 0; i < n; i++) {
      const hit = hits[i]!;
      const policy = table.get(hit.policy);
      if (policy === undefined) throw policyUnknown(hit.policy);
      for (let j = 0; j < i; j++) if (compiled[j] === policy) throw policyInvalid(`policy "${policy.name}" appears twice in one check`);
      compiled[i] = policy;
      argv[i] = `${prefix}${policy.name}:${hit.subject}`;
      const a = n + 2 + i * 3;
      argv[a] = policy.algorithmArg;
      argv[a + 1] = policy.limitArg;
      argv[a + 2] = policy.windowArg;
    }
    argv[n] = this.#clock === undefined ? '' : String(this.#clock());
    argv[n + 1] = cost === 1 ? '1' : String(cost);

    if (!this.#shouldTryRedis()) return this.#fallback(compiled, argv, cost);
    const started = performance.now();
    let reply: unknown;
    try {
      reply = await this.#runWithTimeout(n, argv);
    } catch (err) {
      const timedOut = err instanceof RedisTimeoutError;
      this.metrics.scriptSeconds(timedOut ? 'timeout' : 'error', (performance.now() - started) / 1000);
      this.#onFailure(err, timedOut);
      return this.#fallback(compiled, argv, cost);
    }
    this.metrics.scriptSeconds('ok', (performance.now() - started) / 1000);
    if (this.#degradedSince !== undefined) this.#onRecovery();
    return this.#fromReply(compiled, reply as number[]);
  }

  /**
   * EVALSHA raced against the timeout in one promise (no Promise.race, no
   * async wrapper: this is the hot path). NOSCRIPT falls back to EVAL inside
   * the same deadline. A call that times out may still run later in Redis and
   * count against the quota: the error is on the strict side.
   */
  #runWithTimeout(n: number, argv: string[]): Promise<unknown> {
    const script = this.#script;
    const redis = this.#redis;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new RedisTimeoutError(this.#timeoutMs)), this.#timeoutMs);
      const done = (value: unknown): void => {
        clearTimeout(timer);
        resolve(value);
      };
      const fail = (err: unknown): void => {
        clearTimeout(timer);
        reject(err);
      };
      redis.evalsha(script.sha, n, argv).then(done, (err: unknown) => {
        if (isNoScript(err)) redis.eval(script.source, n, argv).then(done, fail);
        else fail(err);
      });
    });
  }

  #fromReply(compiled: CompiledPolicy[], reply: number[]): Decision {
    const allowed = reply[0] === 1;
    const policies = new Array<PolicyDecision>(compiled.length);
    let retryAfterMs = 0;
    for (let i = 0; i < compiled.length; i++) {
      const policy = compiled[i]!;
      const b = 1 + i * 4;
      const ok = reply[b] === 1;
      const retry = reply[b + 3]!;
      policies[i] = { name: policy.name, policy, allowed: ok, remaining: reply[b + 1]!, resetMs: reply[b + 2]!, retryAfterMs: retry };
      if (!ok) {
        retryAfterMs = retry < 0 || retryAfterMs < 0 ? -1 : Math.max(retryAfterMs, retry);
        this.metrics.decision(policy.name, 'denied', 'redis');
      } else if (allowed) {
        this.metrics.decision(policy.name, 'allowed', 'redis');
      }
    }
    return { allowed, outcome: allowed ? 'allowed' : 'denied', source: 'redis', retryAfterMs, policies };
  }

  #fallback(compiled: CompiledPolicy[], argv: string[], cost: number): Decision {
    if (this.#failureMode === 'fail-closed') {
      const policies = compiled.map((policy): PolicyDecision => {
        this.metrics.decision(policy.name, 'unavailable', 'none');
        return { name: policy.name, policy, allowed: false, remaining: 0, resetMs: 0, retryAfterMs: this.#retryIntervalMs };
      });
      return { allowed: false, outcome: 'unavailable', source: 'none', retryAfterMs: this.#retryIntervalMs, policies };
    }
    const entries = compiled.map((policy, i): LocalEntry => ({
      key: argv[i]!,
      algorithm: policy.algorithm,
      limit: Math.max(1, Math.floor(policy.limit / this.#expectedInstances)),
      windowMs: policy.windowMs,
    }));
    const local = this.#local.check(entries, cost, this.#clock?.() ?? Date.now());
    let retryAfterMs = 0;
    const policies = compiled.map((policy, i): PolicyDecision => {
      const r = local.results[i]!;
      if (!r.allowed) {
        retryAfterMs = r.retryAfterMs < 0 || retryAfterMs < 0 ? -1 : Math.max(retryAfterMs, r.retryAfterMs);
        this.metrics.decision(policy.name, 'denied', 'local');
      } else if (local.allowed) {
        this.metrics.decision(policy.name, 'allowed', 'local');
      }
      return { name: policy.name, policy, ...r };
    });
    return { allowed: local.allowed, outcome: local.allowed ? 'allowed' : 'denied', source: 'local', retryAfterMs, policies };
  }

  /** Healthy: always. Degraded: only one probe at a time, once per retry interval. */
  #shouldTryRedis(): boolean {
    if (this.#degradedSince === undefined) return true;
    if (this.#probing || Date.now() < this.#retryAt) return false;
    this.#probing = true;
    return true;
  }

  #onFailure(err: unknown, timedOut: boolean): void {
    const now = Date.now();
    this.#retryAt = now + this.#retryIntervalMs;
    this.#probing = false;
    const reason = timedOut ? 'timeout' : 'error';
    const message = err instanceof Error ? err.message : String(err);
    if (this.#degradedSince === undefined) {
      this.#degradedSince = now;
      this.#local.clear();
      this.metrics.fallbackActivations.labels(this.#failureMode).inc();
      this.metrics.degraded.set(1);
      this.#log('warn', 'degraded', { mode: this.#failureMode, reason, err: message }, `rate limiter: Redis ${reason}, switching to ${this.#failureMode}`);
    } else {
      this.#log('warn', 'probe-failed', { mode: this.#failureMode, reason, err: message }, 'rate limiter: Redis still unavailable');
    }
  }

  #onRecovery(): void {
    const downMs = Date.now() - (this.#degradedSince ?? Date.now());
    this.#degradedSince = undefined;
    this.#probing = false;
    this.metrics.degraded.set(0);
    this.#log('info', 'recovered', { downMs }, 'rate limiter: Redis is back');
  }

  /** Rate-limited logging: one line per kind per interval, carrying how many were suppressed. */
  #log(level: 'warn' | 'info', kind: string, obj: Record<string, unknown>, msg: string): void {
    if (this.#logger === undefined) return;
    const now = Date.now();
    const state = this.#logs.get(kind) ?? { last: -Infinity, suppressed: 0 };
    this.#logs.set(kind, state);
    if (now - state.last < this.#logIntervalMs) {
      state.suppressed++;
      return;
    }
    const suppressed = state.suppressed;
    state.last = now;
    state.suppressed = 0;
    this.#logger[level](suppressed > 0 ? { ...obj, suppressed } : obj, msg);
  }
}
