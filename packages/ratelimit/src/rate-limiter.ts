/**
 * RateLimiter: checks several policies for one request in one atomic Lua call
 * (check all, consume from all only if all admit), with policies replaceable
 * at runtime, a bounded Redis timeout, and a configured failure mode when
 * Redis is down or slow: `fail-open` (per-instance in-memory limiter) or
 * `fail-closed` (reject as unavailable). While degraded, Redis is bypassed and
 * probed by one request every `retryIntervalMs`; the first success recovers.
 * Policies with a `lease` are served from units this instance took from Redis
 * ahead of time while it holds enough (leased-checks.ts, leases.ts, README "Leases").
 */
import type { Logger } from '@bulwark/service-kit/logging';
import { Registry } from 'prom-client';
import { policyInvalid, policyUnknown } from './errors.ts';
import { defaultScope, scopePrefix } from './keys.ts';
import type { EncodedArgs, EncodedSlot } from './encoded-command.ts';
import { LeasedChecks } from './leased-checks.ts';
import { LeaseTable } from './leases.ts';
import { LocalLimiter, type LocalEntry } from './local-limiter.ts';
import { RateLimitMetrics, type Outcome, type Source } from './metrics.ts';
import { compilePolicies, putCallArgs, putPolicyArgs, type CompiledPolicy, type PolicyConfig } from './policy.ts';
import { RedisGuard, type FailureMode } from './redis-guard.ts';
import type { ScriptClient } from './script-loader.ts';

export type { FailureMode } from './redis-guard.ts';

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
  /** The kit's logger (of which the limiter uses warn and info). */
  logger?: Pick<Logger, 'warn' | 'info'>;
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

/**
 * One policy applied to one subject, e.g. `{ policy: 'per-ip', subject: req.ip }`.
 * A caller that checks the same hits repeatedly may pass one frozen array
 * each time (`Object.freeze`): the limiter then keeps the state keys (and the
 * EVALSHA bytes) it built for that array instead of building them per check
 * (see RateLimiter.#keyMemo).
 */
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

const ALLOW_ALL: Decision = Object.freeze({ allowed: true, outcome: 'allowed', source: 'none', retryAfterMs: 0, policies: [] }) as Decision;

function costOf(options: CheckOptions | undefined): number {
  const cost = options?.cost ?? 1;
  if (!Number.isSafeInteger(cost) || cost < 1) throw policyInvalid(`cost must be a positive integer, got ${cost}`);
  return cost;
}

/**
 * What was built for one frozen hits array: its state keys, with what they
 * were built from, and the EVALSHA bytes last sent for it (an EncodedSlot,
 * filled and checked by encoded-command.ts).
 */
class KeyMemo implements EncodedSlot {
  readonly #policies: string[];
  readonly #subjects: string[];
  readonly #scope: string | undefined;
  readonly keys: string[];
  encoded: EncodedArgs | undefined = undefined;

  constructor(hits: readonly Hit[], scope: string | undefined, keys: string[]) {
    this.#policies = hits.map((h) => h.policy);
    this.#subjects = hits.map((h) => h.subject);
    this.#scope = scope;
    this.keys = keys;
  }

  matches(hits: readonly Hit[], scope: string | undefined): boolean {
    if (scope !== this.#scope || hits.length !== this.keys.length) return false;
    for (let i = 0; i < hits.length; i++) {
      if (hits[i]!.policy !== this.#policies[i] || hits[i]!.subject !== this.#subjects[i]) return false;
    }
    return true;
  }
}

export class RateLimiter {
  readonly metrics: RateLimitMetrics;
  readonly #guard: RedisGuard;
  readonly #prefix: string;
  readonly #expectedInstances: number;
  readonly #clock: (() => number) | undefined;
  readonly #local: LocalLimiter;
  readonly #leases: LeaseTable;
  /** Scratch for resolving hits; used synchronously only, copied before any await. */
  readonly #scratchPolicies: CompiledPolicy[] = [];
  readonly #scratchKeys: string[] = [];
  /**
   * State keys already built for a frozen hits array. A caller that passes
   * the same frozen array again (the gateway keeps one per identity and
   * route) reuses the same key strings: no building, and Map lookups (leases) find their hash
   * cached. Checked against the hits' current policies and subjects, so a
   * mutated array is never served stale keys.
   */
  readonly #keyMemo = new WeakMap<readonly Hit[], KeyMemo>();
  /** The memo #resolve used or made for the hits it resolved (undefined: not frozen); read before any await. */
  #scratchMemo: KeyMemo | undefined;
  readonly #leased: LeasedChecks;
  /** Some configured policy has a lease. */
  #leasing = false;
  #policies: Map<string, CompiledPolicy>;

  constructor(options: RateLimiterOptions) {
    const prefix = options.prefix ?? 'rl';
    if (/[{}]/.test(prefix) || prefix === '') throw policyInvalid(`key prefix ${JSON.stringify(prefix)} must be non-empty and contain no braces`);
    this.#prefix = prefix;
    this.#expectedInstances = Math.max(1, options.expectedInstances ?? 1);
    this.#clock = options.clock;
    this.#local = new LocalLimiter(options.localMaxKeys);
    this.metrics = new RateLimitMetrics(options.registry ?? new Registry());
    this.#guard = new RedisGuard({
      redis: options.redis,
      timeoutMs: options.timeoutMs ?? 100,
      failureMode: options.failureMode ?? 'fail-open',
      retryIntervalMs: options.retryIntervalMs ?? 1000,
      logger: options.logger,
      logIntervalMs: options.logIntervalMs ?? 10_000,
      metrics: this.metrics,
      onDegraded: () => this.#local.clear(),
    });
    this.#leases = new LeaseTable(options.leaseMaxKeys ?? 10_000, this.metrics);
    this.metrics.beforeFlush = () => this.#sweepLeases();
    this.#leased = new LeasedChecks({
      leases: this.#leases,
      metrics: this.metrics,
      guard: this.#guard,
      clock: options.clock,
      fallback: (compiled, keys, cost) => this.#fallback(compiled, keys, cost),
    });
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
    return this.#guard.degraded;
  }

  get failureMode(): FailureMode {
    return this.#guard.failureMode;
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
      const leased = this.#leased;
      const now = leased.now();
      const served = leased.serve(this.#scratchPolicies, this.#scratchKeys, n, cost, now);
      if (served !== undefined) return served;
      return leased.check(this.#scratchPolicies.slice(0, n), this.#scratchKeys.slice(0, n), cost, now);
    }
    const compiled = this.#scratchPolicies.slice(0, n);
    const keys = this.#scratchKeys;
    const memo = this.#scratchMemo;
    const argv = new Array<string>(n * 4 + 2);
    for (let i = 0; i < n; i++) putPolicyArgs(argv, n, i, keys[i]!, compiled[i]!);
    putCallArgs(argv, n, this.#clock?.(), cost);

    // argv starts with the keys, which is all the fallback reads from it.
    const guard = this.#guard;
    if (!guard.shouldTry()) return this.#fallback(compiled, argv, cost);
    const started = performance.now();
    let reply: unknown;
    try {
      reply = await guard.call(n, argv, memo, started);
    } catch (err) {
      guard.failed(err, started);
      return this.#fallback(compiled, argv, cost);
    }
    guard.succeeded(started);
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
    return this.#leased.serve(this.#scratchPolicies, this.#scratchKeys, n, cost, this.#leased.now());
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
    const compiled = this.#scratchPolicies;
    const keys = this.#scratchKeys;
    let leased = false;
    for (let i = 0; i < n; i++) {
      const hit = hits[i]!;
      const policy = table.get(hit.policy);
      if (policy === undefined) throw policyUnknown(hit.policy);
      for (let j = 0; j < i; j++) if (compiled[j] === policy) throw policyInvalid(`policy "${policy.name}" appears twice in one check`);
      compiled[i] = policy;
      if (policy.leaseUnits > 0) leased = true;
    }
    const scope = options?.scope;
    const reusable = Object.isFrozen(hits);
    const memo = reusable ? this.#keyMemo.get(hits) : undefined;
    if (memo !== undefined && memo.matches(hits, scope)) {
      for (let i = 0; i < n; i++) keys[i] = memo.keys[i]!;
      this.#scratchMemo = memo;
      return leased;
    }
    const first = hits[0]!;
    const prefix = scopePrefix(this.#prefix, scope ?? defaultScope(first.policy, first.subject));
    for (let i = 0; i < n; i++) keys[i] = `${prefix}${hits[i]!.policy}:${hits[i]!.subject}`;
    this.#scratchMemo = reusable ? new KeyMemo(hits, scope, keys.slice(0, n)) : undefined;
    if (this.#scratchMemo !== undefined) this.#keyMemo.set(hits, this.#scratchMemo);
    return leased;
  }

  #sweepLeases(): void {
    this.#leases.sweep(this.#leased.now(), (name) => this.#policies.get(name));
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
    const retryIntervalMs = this.#guard.retryIntervalMs;
    if (this.#guard.failureMode === 'fail-closed') {
      const policies = compiled.map((policy): PolicyDecision => {
        this.metrics.decision(policy.name, 'unavailable', 'none');
        return { name: policy.name, policy, allowed: false, remaining: 0, resetMs: 0, retryAfterMs: retryIntervalMs };
      });
      return { allowed: false, outcome: 'unavailable', source: 'none', retryAfterMs: retryIntervalMs, policies };
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
}
