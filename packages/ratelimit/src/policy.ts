/**
 * Policy configuration: validation and compilation into the precomputed
 * pieces every check reuses (script ARGV strings, header items, local limit),
 * so replacing the policies at runtime costs one compile, not one per call.
 */
import { policyInvalid } from './errors.ts';

export type Algorithm = 'token-bucket' | 'sliding-window' | 'fixed-window';

/** One rate-limit policy as configured. */
export interface PolicyConfig {
  /** Unique name; appears in keys, metrics and RateLimit headers. `[A-Za-z0-9_.-]`, 1–64 chars. */
  name: string;
  algorithm: Algorithm;
  /**
   * Units per window. Token bucket: bucket capacity (the burst), refilled at
   * `limit / windowSeconds` units per second. Windows: units admitted per window.
   */
  limit: number;
  /** Window length in seconds (fractions allowed; headers round up to whole seconds). */
  windowSeconds: number;
  /**
   * Opt-in quota lease: each instance takes `units` on top of a request's
   * cost from Redis (atomically, only when the request is admitted) and
   * serves the next requests of the same key from them locally, for at most
   * `ttlSeconds` (default min(1, windowSeconds / 10)) and never past the end of
   * the window the units were counted in. Never over-admits; may under-admit
   * by up to `units` per instance per lease lifetime. Absent: every check goes
   * to Redis (exact). See README "Leases".
   */
  lease?: LeaseConfig;
}

export interface LeaseConfig {
  /** Units taken per grant; an integer ≥ 1 and below the limit. */
  units: number;
  /** Longest a lease is held, seconds; > 0 and ≤ windowSeconds. */
  ttlSeconds?: number;
}

/** A validated policy with everything a check needs precomputed. */
export interface CompiledPolicy {
  readonly config: Readonly<PolicyConfig>;
  readonly name: string;
  readonly algorithm: Algorithm;
  readonly limit: number;
  readonly windowMs: number;
  /** Algorithm code as the Lua script expects it. */
  readonly algorithmArg: string;
  readonly limitArg: string;
  readonly windowArg: string;
  /** This policy's item of the RateLimit-Policy header. */
  readonly policyItem: string;
  /** The quoted name, start of this policy's RateLimit item. */
  readonly quotedName: string;
  /** Lease units per grant; 0 when the policy is exact (no lease). */
  readonly leaseUnits: number;
  /** Longest a lease is held, ms (0 when exact). */
  readonly leaseTtlMs: number;
  /** `leaseUnits` as the script's extra ARGV. */
  readonly leaseArg: string;
}

const ALGORITHM_CODES: Record<Algorithm, string> = { 'token-bucket': '1', 'sliding-window': '2', 'fixed-window': '3' };
const NAME = /^[A-Za-z0-9_.-]{1,64}$/;

export function compilePolicy(config: PolicyConfig): CompiledPolicy {
  const { name, algorithm, limit, windowSeconds } = config;
  if (typeof name !== 'string' || !NAME.test(name)) throw policyInvalid(`policy name ${JSON.stringify(name)} must match ${NAME}`);
  if (!Object.hasOwn(ALGORITHM_CODES, algorithm)) throw policyInvalid(`policy "${name}": unknown algorithm ${JSON.stringify(algorithm)}`);
  if (!Number.isSafeInteger(limit) || limit < 1) throw policyInvalid(`policy "${name}": limit must be a positive integer, got ${limit}`);
  if (!Number.isFinite(windowSeconds) || windowSeconds <= 0) throw policyInvalid(`policy "${name}": windowSeconds must be > 0, got ${windowSeconds}`);
  const windowMs = Math.max(1, Math.round(windowSeconds * 1000));
  const { leaseUnits, leaseTtlMs } = compileLease(config, windowMs);
  const quotedName = `"${name}"`;
  return {
    config: Object.freeze({ ...config, ...(config.lease === undefined ? {} : { lease: Object.freeze({ ...config.lease }) }) }),
    name,
    algorithm,
    limit,
    windowMs,
    algorithmArg: ALGORITHM_CODES[algorithm],
    limitArg: String(limit),
    windowArg: String(windowMs),
    policyItem: `${quotedName};q=${limit};w=${Math.max(1, Math.ceil(windowMs / 1000))}`,
    quotedName,
    leaseUnits,
    leaseTtlMs,
    leaseArg: String(leaseUnits),
  };
}

function compileLease(config: PolicyConfig, windowMs: number): { leaseUnits: number; leaseTtlMs: number } {
  const { name, limit, lease } = config;
  if (lease === undefined) return { leaseUnits: 0, leaseTtlMs: 0 };
  if (lease === null || typeof lease !== 'object') throw policyInvalid(`policy "${name}": lease must be an object { units, ttlSeconds? }`);
  const { units, ttlSeconds } = lease;
  if (!Number.isSafeInteger(units) || units < 1 || units >= limit) {
    throw policyInvalid(`policy "${name}": lease.units must be an integer ≥ 1 and below the limit (${limit}), got ${units}`);
  }
  if (ttlSeconds !== undefined && (typeof ttlSeconds !== 'number' || !Number.isFinite(ttlSeconds) || ttlSeconds <= 0 || ttlSeconds > config.windowSeconds)) {
    throw policyInvalid(`policy "${name}": lease.ttlSeconds must be > 0 and ≤ windowSeconds (${config.windowSeconds}), got ${ttlSeconds}`);
  }
  const ttlMs = ttlSeconds === undefined ? Math.min(1000, windowMs / 10) : ttlSeconds * 1000;
  return { leaseUnits: units, leaseTtlMs: Math.max(1, Math.round(ttlMs)) };
}

/** True when two configs compile to the same policy (leases taken under one stay valid under the other). */
export function samePolicy(a: Readonly<PolicyConfig>, b: Readonly<PolicyConfig>): boolean {
  return a.name === b.name && a.algorithm === b.algorithm && a.limit === b.limit && a.windowSeconds === b.windowSeconds &&
    a.lease?.units === b.lease?.units && a.lease?.ttlSeconds === b.lease?.ttlSeconds;
}

/**
 * Validates a whole policy set; names must be unique. A policy equal to one in
 * `previous` keeps its compiled object (the limiter's leases are tied to it).
 */
export function compilePolicies(configs: readonly PolicyConfig[], previous?: ReadonlyMap<string, CompiledPolicy>): Map<string, CompiledPolicy> {
  const compiled = new Map<string, CompiledPolicy>();
  for (const config of configs) {
    const fresh = compilePolicy(config);
    const old = previous?.get(fresh.name);
    const policy = old !== undefined && samePolicy(old.config, config) ? old : fresh;
    if (compiled.has(policy.name)) throw policyInvalid(`policy "${policy.name}" is defined twice`);
    compiled.set(policy.name, policy);
  }
  return compiled;
}

/**
 * The check script's ARGV layout (see check-policies-n.lua) for `count` policies:
 * KEYS go in [0, count); ARGV[1..2] (time, cost) at [count, count + 2); then one
 * (algorithm, limit, window) triple per policy; then, when leases are asked,
 * one `extra` per policy. Writes policy `slot`'s key and triple.
 */
export function putPolicyArgs(argv: string[], count: number, slot: number, key: string, policy: CompiledPolicy): void {
  argv[slot] = key;
  const a = count + 2 + slot * 3;
  argv[a] = policy.algorithmArg;
  argv[a + 1] = policy.limitArg;
  argv[a + 2] = policy.windowArg;
}

/** Writes the call's time ('' = Redis TIME) and cost into the ARGV layout of `putPolicyArgs`. */
export function putCallArgs(argv: string[], count: number, time: number | undefined, cost: number): void {
  argv[count] = time === undefined ? '' : String(time);
  argv[count + 1] = cost === 1 ? '1' : String(cost);
}
