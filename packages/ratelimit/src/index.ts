export { RateLimiter, type RateLimiterOptions, type FailureMode, type Hit, type CheckOptions, type Decision, type PolicyDecision } from './rate-limiter.ts';
export { compilePolicy, compilePolicies, type PolicyConfig, type LeaseConfig, type CompiledPolicy, type Algorithm } from './policy.ts';
export { rateLimit, applyDecision, decisionError, type RateLimitMiddlewareOptions } from './middleware.ts';
export { rateLimitHeaders, formatPolicyHeader, formatRateLimitHeader, retryAfterSeconds, RATELIMIT_HEADER, RATELIMIT_POLICY_HEADER } from './headers.ts';
export { stateKey, scopePrefix, escapeScope, defaultScope } from './keys.ts';
export { loadScript, LuaScript, type ScriptClient } from './script-loader.ts';
export { LocalLimiter, type LocalEntry, type LocalResult } from './local-limiter.ts';
export { RateLimitMetrics, type Outcome, type Source } from './metrics.ts';
export { RATE_LIMITED, RATE_LIMIT_UNAVAILABLE, RATE_LIMIT_POLICY_INVALID, RATE_LIMIT_POLICY_UNKNOWN } from './errors.ts';
