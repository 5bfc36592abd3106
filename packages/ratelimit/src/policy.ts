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
  const quotedName = `"${name}"`;
  return {
    config: Object.freeze({ ...config }),
    name,
    algorithm,
    limit,
    windowMs,
    algorithmArg: ALGORITHM_CODES[algorithm],
    limitArg: String(limit),
    windowArg: String(windowMs),
    policyItem: `${quotedName};q=${limit};w=${Math.max(1, Math.ceil(windowMs / 1000))}`,
    quotedName,
  };
}

/** Validates a whole policy set; names must be unique. */
export function compilePolicies(configs: readonly PolicyConfig[]): Map<string, CompiledPolicy> {
  const compiled = new Map<string, CompiledPolicy>();
  for (const config of configs) {
    const policy = compilePolicy(config);
    if (compiled.has(policy.name)) throw policyInvalid(`policy "${policy.name}" is defined twice`);
    compiled.set(policy.name, policy);
  }
  return compiled;
}
