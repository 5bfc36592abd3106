/**
 * RateLimiter: checks several policies for one request in one atomic Lua call
 * (check all, consume from all only if all admit), with policies replaceable
 * at runtime, a bounded Redis timeout, and a configured failure mode when
 * Redis is down or slow: `fail-open` (per-instance in-memory limiter) or
 * `fail-closed` (reject as unavailable). While degraded, Redis is bypassed and
 * probed by one request every `retryIntervalMs`; the first success recovers.
 * Policies with a `lease` are served from units this instance took from Redis
 * ahead of time while it holds enough (leases.ts, README "Leases").
 */
import { Registry } from 'prom-client';
import { policyInvalid, policyUnknown } from './errors.ts';
import { defaultScope, scopePrefix } from './keys.ts';
import { LeaseTable, beginRefill, endRefill, type Lease } from './leases.ts';
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
  /** Bound on the keys this instance holds quota leases for; the least recently granted go first. Default 10 000. */
  leaseMaxKeys?: number;
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
  /**
   * Who decided: Redis, the local fail-open limiter, nobody (fail-closed), or
   * `lease`: every policy was served from this instance's quota leases, no Redis call.
   */
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

function costOf(options: CheckOptions | undefined): number {
  const cost = options?.cost ?? 1;
  if (!Number.isSafeInteger(cost) || cost < 1) throw policyInvalid(`cost must be a positive integer, got ${cost}`);
  return cost;
}

/**
 * How long granted units may be spent, from the reply's reset: the lease TTL,
 * and never past the end of the window the units were counted in (fixed
 * window: the reset; sliding window: the reset minus one window). 1 ms short,
 * since Redis rounds the reset up.
 */
function leaseLifetimeMs(policy: CompiledPolicy, resetMs: number): number {
  if (policy.algorithm === 'fixed-window') return Math.min(policy.leaseTtlMs, resetMs - 1);
  if (policy.algorithm === 'sliding-window') return Math.min(policy.leaseTtlMs, resetMs - policy.windowMs - 1);
  return policy.leaseTtlMs;
}

/** How many in-flight refills a check waits for before it calls Redis itself. */
const MAX_REFILL_WAITS = 4;

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
  readonly #leases: LeaseTable;
  readonly #logs = new Map<string, LogState>();
  /** Scratch for resolving hits; used synchronously only, copied before any await. */
  readonly #scratchPolicies: CompiledPolicy[] = [];
  readonly #scratchKeys: string[] = [];
  readonly #scratchLeases: Lease[] = [];
  /** Some configured policy has a lease. */
  #leasing = false;
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
    this.#leases = new LeaseTable(options.leaseMaxKeys ?? 10_000, this.metrics);
    this.metrics.beforeFlush = () => this.#sweepLeases();
    this.#policies = compilePolicies(options.policies);
    this.#leasing = [...this.#policies.values()].some((p) => p.leaseUnits > 0);
  }

  /**
   * Replaces all policies; the next check uses them. Counters stay where they
   * are (keys do not depend on the limits), so a raised limit frees quota at
   * once and a lowered one applies to what was already used. Throws, keeping
   * the old set, if any policy is invalid. Leases of a policy whose config
   * changed in any way (limit, window, algorithm, lease) or that was removed
   * are dropped; those of unchanged policies are kept.
   */
  setPolicies(policies: readonly PolicyConfig[]): void {
    this.#policies = compilePolicies(policies, this.#policies);
    this.#leasing = [...this.#policies.values()].some((p) => p.leaseUnits > 0);
    this.#sweepLeases();
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
   *
   * Leased policies: when every hit's policy holds a live lease with at least
   * `cost` units on this instance, the request is served from them (source
   * `lease`, no Redis call, as `tryLocal`); otherwise one Redis call covers
   * the hits without a sufficient lease, asking for new lease units, while
   * `cost` is reserved from the sufficient leases (given back if the request
   * is rejected or Redis fails). Leases are used first even while degraded:
   * their units were taken from Redis legitimately.
   */
  async check(hits: readonly Hit[], options?: CheckOptions): Promise<Decision> {
    const n = hits.length;
    if (n === 0) return ALLOW_ALL;
    const cost = costOf(options);
    if (this.#resolve(hits, options)) {
      const now = this.#leaseNow();
      const served = this.#serveFromLeases(this.#scratchPolicies, this.#scratchKeys, n, cost, now);
      if (served !== undefined) return served;
      const compiled = this.#scratchPolicies.slice(0, n);
      const keys = this.#scratchKeys.slice(0, n);
      const pending = this.#pendingRefill(compiled, keys, cost, now);
      return pending === undefined ? this.#checkLeased(compiled, keys, cost, now) : this.#afterRefill(pending, compiled, keys, cost);
    }
    const compiled = this.#scratchPolicies.slice(0, n);
    const keys = this.#scratchKeys;
    const argv = new Array<string>(n * 4 + 2);
    for (let i = 0; i < n; i++) {
      const policy = compiled[i]!;
      argv[i] = keys[i]!;
      const a = n + 2 + i * 3;
      argv[a] = policy.algorithmArg;
      argv[a + 1] = policy.limitArg;
      argv[a + 2] = policy.windowArg;
    }
    argv[n] = this.#clock === undefined ? '' : String(this.#clock());
    argv[n + 1] = cost === 1 ? '1' : String(cost);

    // argv starts with the keys, which is all the fallback reads from it.
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
   * Synchronous fast path for leased policies: if every hit's policy holds a
   * live lease with at least `cost` units on this instance, consumes them and
   * returns the decision (source `lease`, always allowed); otherwise returns
   * undefined and consumes nothing — then call `check`. Lets a caller skip
   * the promise hop of `check` on the lease-served path. Throws like `check`
   * for an unknown policy or a bad cost.
   */
  tryLocal(hits: readonly Hit[], options?: CheckOptions): Decision | undefined {
    const n = hits.length;
    if (n === 0) return ALLOW_ALL;
    const cost = costOf(options);
    if (!this.#leasing || !this.#resolve(hits, options)) return undefined;
    return this.#serveFromLeases(this.#scratchPolicies, this.#scratchKeys, n, cost, this.#leaseNow());
  }

  /** Number of keys this instance holds a lease record for (bounded by `leaseMaxKeys`). */
  get leaseCount(): number {
    return this.#leases.size;
  }

  /**
   * Resolves hits into the scratch arrays (policy, state key); true when some
   * hit's policy is leased. Throws for an unknown or repeated policy.
   */
  #resolve(hits: readonly Hit[], options: CheckOptions | undefined): boolean {
    const n = hits.length;
    const table = this.#policies;
    const first = hits[0]!;
    const prefix = scopePrefix(this.#prefix, options?.scope ?? defaultScope(first.policy, first.subject));
    const compiled = this.#scratchPolicies;
    const keys = this.#scratchKeys;
    let leased = false;
    for (let i = 0; i < n; i++) {
      const hit = hits[i]!;
      const policy = table.get(hit.policy);
      if (policy === undefined) throw policyUnknown(hit.policy);
      for (let j = 0; j < i; j++) if (compiled[j] === policy) throw policyInvalid(`policy "${policy.name}" appears twice in one check`);
      compiled[i] = policy;
      keys[i] = `${prefix}${policy.name}:${hit.subject}`;
      if (policy.leaseUnits > 0) leased = true;
    }
    return leased;
  }

  /** The lease-served decision for the first `n` resolved hits, or undefined (nothing consumed). */
  #serveFromLeases(compiled: readonly CompiledPolicy[], keys: readonly string[], n: number, cost: number, now: number): Decision | undefined {
    const found = this.#scratchLeases;
    for (let i = 0; i < n; i++) {
      const policy = compiled[i]!;
      if (policy.leaseUnits === 0) return undefined;
      const lease = this.#leases.live(keys[i]!, policy, now);
      if (lease === undefined || lease.units < cost) return undefined;
      found[i] = lease;
    }
    const policies = new Array<PolicyDecision>(n);
    for (let i = 0; i < n; i++) {
      const policy = compiled[i]!;
      const lease = found[i]!;
      lease.units -= cost;
      policies[i] = { name: policy.name, policy, allowed: true, remaining: lease.lastRemaining + lease.units, resetMs: Math.max(0, Math.ceil(lease.resetAt - now)), retryAfterMs: 0 };
      this.metrics.decision(policy.name, 'allowed', 'lease');
    }
    return { allowed: true, outcome: 'allowed', source: 'lease', retryAfterMs: 0, policies };
  }

  /**
   * The refill to wait for instead of calling Redis: when every hit's policy
   * is leased and each one short of `cost` has a grant in flight (another
   * check is already asking Redis for it). Undefined when this check must go
   * to Redis itself.
   */
  #pendingRefill(compiled: readonly CompiledPolicy[], keys: readonly string[], cost: number, now: number): Promise<void> | undefined {
    let pending: Promise<void> | undefined;
    for (let i = 0; i < compiled.length; i++) {
      const policy = compiled[i]!;
      if (policy.leaseUnits < cost) return undefined; // never servable from a lease
      const lease = this.#leases.live(keys[i]!, policy, now);
      if (lease !== undefined && lease.units >= cost) continue;
      if (lease?.refill === undefined) return undefined;
      pending ??= lease.refill;
    }
    return pending;
  }

  /**
   * Waits for in-flight refills (each settles within `timeoutMs`), at most
   * MAX_REFILL_WAITS times, serving from the refilled leases when they
   * suffice; else goes to Redis. This keeps one hot key at one Redis call per
   * grant however many requests for it are in flight.
   */
  async #afterRefill(pending: Promise<void>, compiled: CompiledPolicy[], keys: string[], cost: number): Promise<Decision> {
    for (let waits = 1; ; waits++) {
      await pending;
      const now = this.#leaseNow();
      const served = this.#serveFromLeases(compiled, keys, compiled.length, cost, now);
      if (served !== undefined) return served;
      const next = waits < MAX_REFILL_WAITS ? this.#pendingRefill(compiled, keys, cost, now) : undefined;
      if (next === undefined) return this.#checkLeased(compiled, keys, cost, now);
      pending = next;
    }
  }

  /**
   * One Redis call for the hits without a sufficient lease (asking for lease
   * units for leased ones, unless a grant for that key is already in flight);
   * `cost` is reserved from the sufficient leases meanwhile.
   */
  async #checkLeased(compiled: CompiledPolicy[], keys: string[], cost: number, now: number): Promise<Decision> {
    if (!this.#shouldTryRedis()) return this.#fallback(compiled, keys, cost);
    const n = compiled.length;
    const leases = this.#leases;
    const reserved = new Array<Lease | undefined>(n);
    const asked = new Array<Lease | undefined>(n);
    const subset: number[] = [];
    let extras = false;
    for (let i = 0; i < n; i++) {
      const policy = compiled[i]!;
      if (policy.leaseUnits > 0) {
        const lease = leases.live(keys[i]!, policy, now);
        if (lease !== undefined && lease.units >= cost) {
          lease.units -= cost;
          reserved[i] = lease;
          continue;
        }
        if (lease?.refill === undefined) {
          const refill = lease ?? leases.open(keys[i]!, policy);
          beginRefill(refill);
          asked[i] = refill;
          extras = true;
        }
      }
      subset.push(i);
    }
    // subset is never empty: with every lease sufficient, #serveFromLeases would have served the request.
    const m = subset.length;
    const argv = new Array<string>(m * (extras ? 5 : 4) + 2);
    for (let j = 0; j < m; j++) {
      const i = subset[j]!;
      const policy = compiled[i]!;
      argv[j] = keys[i]!;
      const a = m + 2 + j * 3;
      argv[a] = policy.algorithmArg;
      argv[a + 1] = policy.limitArg;
      argv[a + 2] = policy.windowArg;
      if (extras) {
        const lease = asked[i];
        argv[4 * m + 2 + j] = lease === undefined ? '0' : lease.units === 0 ? policy.leaseArg : String(Math.max(0, policy.leaseUnits - lease.units));
      }
    }
    argv[m] = this.#clock === undefined ? '' : String(now);
    argv[m + 1] = cost === 1 ? '1' : String(cost);

    const started = performance.now();
    let reply: number[];
    try {
      reply = (await this.#runWithTimeout(m, argv)) as number[];
    } catch (err) {
      const timedOut = err instanceof RedisTimeoutError;
      this.metrics.scriptSeconds(timedOut ? 'timeout' : 'error', (performance.now() - started) / 1000);
      for (let i = 0; i < n; i++) {
        const lease = reserved[i];
        if (lease !== undefined) leases.refund(keys[i]!, lease, cost);
        const refill = asked[i];
        if (refill !== undefined) endRefill(refill);
      }
      this.#onFailure(err, timedOut);
      return this.#fallback(compiled, keys, cost);
    }
    this.metrics.scriptSeconds('ok', (performance.now() - started) / 1000);
    if (this.#degradedSince !== undefined) this.#onRecovery();

    const allowed = reply[0] === 1;
    const at = this.#leaseNow();
    const policies = new Array<PolicyDecision>(n);
    let retryAfterMs = 0;
    for (let i = 0; i < n; i++) {
      const lease = reserved[i];
      if (lease === undefined) continue;
      const policy = compiled[i]!;
      if (allowed) this.metrics.decision(policy.name, 'allowed', 'lease');
      else leases.refund(keys[i]!, lease, cost);
      policies[i] = { name: policy.name, policy, allowed: true, remaining: lease.lastRemaining + lease.units, resetMs: Math.max(0, Math.ceil(lease.resetAt - at)), retryAfterMs: 0 };
    }
    for (let j = 0; j < m; j++) {
      const i = subset[j]!;
      const policy = compiled[i]!;
      const key = keys[i]!;
      const b = 1 + j * 4;
      const ok = reply[b] === 1;
      const remaining = reply[b + 1]!;
      const resetMs = reply[b + 2]!;
      const retry = reply[b + 3]!;
      const refill = asked[i];
      if (refill !== undefined) {
        const granted = reply[1 + 4 * m + j]!;
        if (granted > 0) leases.grant(key, refill, granted, now + leaseLifetimeMs(policy, resetMs), remaining, now + resetMs, at);
        endRefill(refill);
      }
      const held = policy.leaseUnits > 0 ? (leases.live(key, policy, at)?.units ?? 0) : 0;
      policies[i] = { name: policy.name, policy, allowed: ok, remaining: remaining + held, resetMs, retryAfterMs: retry };
      if (!ok) {
        retryAfterMs = retry < 0 || retryAfterMs < 0 ? -1 : Math.max(retryAfterMs, retry);
        this.metrics.decision(policy.name, 'denied', 'redis');
      } else if (allowed) {
        this.metrics.decision(policy.name, 'allowed', 'redis');
      }
    }
    return { allowed, outcome: allowed ? 'allowed' : 'denied', source: 'redis', retryAfterMs, policies };
  }

  /** Limiter time for leases: the test clock, else a monotonic clock (ms). */
  #leaseNow(): number {
    return this.#clock === undefined ? performance.now() : this.#clock();
  }

  #sweepLeases(): void {
    this.#leases.sweep(this.#leaseNow(), (name) => this.#policies.get(name));
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

  #fallback(compiled: readonly CompiledPolicy[], keys: readonly string[], cost: number): Decision {
    if (this.#failureMode === 'fail-closed') {
      const policies = compiled.map((policy): PolicyDecision => {
        this.metrics.decision(policy.name, 'unavailable', 'none');
        return { name: policy.name, policy, allowed: false, remaining: 0, resetMs: 0, retryAfterMs: this.#retryIntervalMs };
      });
      return { allowed: false, outcome: 'unavailable', source: 'none', retryAfterMs: this.#retryIntervalMs, policies };
    }
    const entries = compiled.map((policy, i): LocalEntry => ({
      key: keys[i]!,
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
