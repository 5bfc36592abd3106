/**
 * Gateway configuration: the kit's base keys plus the gateway's own, read
 * once from the environment. The routes file (GATEWAY_ROUTES_FILE) holds the
 * route table and per-upstream resilience settings; this holds what differs
 * per deployment (where things are, secrets' locations, failure modes).
 */
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { baseConfigSchema, commaList, loadConfig } from '@bulwark/service-kit';
import { parseUpstreamAddresses } from './domain/routes-file.ts';

const FORBIDDEN_ALGORITHMS = /^(none|HS\d+)$/i;
const ALLOWED_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const;

const csv = commaList();

export const DEFAULT_ROUTES_FILE = fileURLToPath(new URL('../routes.json', import.meta.url));

export const gatewayConfigSchema = baseConfigSchema.extend({
  GATEWAY_ROUTES_FILE: z.string().min(1).default(DEFAULT_ROUTES_FILE).describe('Path of the routes file (JSON, or YAML by .yaml/.yml extension).'),
  GATEWAY_UPSTREAMS: z
    .string()
    .default('')
    .transform((value, ctx) => {
      try {
        return parseUpstreamAddresses(value);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    })
    .describe('Where each upstream of the routes file is: name=url,… (npm run up: from the apps\' ports; the chart: Service DNS names).'),
  REDIS_URL: z.url().optional().describe('Redis for rate limiting; without it, routes with rate limits fail to start.'),
  RATE_LIMIT_FAILURE_MODE: z.enum(['fail-open', 'fail-closed']).default('fail-open').describe('What rate limiting does while Redis is down or slow.'),
  RATE_LIMIT_TIMEOUT_MS: z.coerce.number().int().positive().default(100).describe('Longest wait for Redis on a rate-limit check.'),
  RATE_LIMIT_PREFIX: z.string().min(1).default('rl:gw').describe('Redis key prefix of rate-limit state.'),
  GATEWAY_INSTANCES: z.coerce.number().int().positive().default(1).describe('Expected gateway replicas; fail-open divides each limit by it.'),
  JWKS_URL: z.url().default('http://127.0.0.1:8081/.well-known/jwks.json').describe('JWKS endpoint of the identity service (local default: identity on 8081).'),
  JWT_ISSUER: z.string().min(1).optional().describe('Expected `iss` claim; unchecked when unset.'),
  JWT_AUDIENCE: z.string().min(1).optional().describe('Expected `aud` claim; unchecked when unset.'),
  JWT_ALGORITHMS: csv
    .default(['RS256', 'ES256', 'EdDSA'])
    .refine((algs) => algs.length > 0 && algs.every((a) => !FORBIDDEN_ALGORITHMS.test(a) && (ALLOWED_ALGORITHMS as readonly string[]).includes(a)), {
      message: `only asymmetric algorithms (${ALLOWED_ALGORITHMS.join(', ')}); none and HS* are refused`,
    })
    .describe('Access-token algorithm allow-list (comma-separated).'),
  JWT_CLOCK_TOLERANCE_S: z.coerce.number().int().min(0).default(5).describe('Allowed clock skew for exp/nbf.'),
  JWKS_COOLDOWN_MS: z.coerce.number().int().min(0).default(30_000).describe('Least time between two JWKS refetches triggered by an unknown kid.'),
  JWKS_CACHE_MAX_AGE_MS: z.coerce.number().int().positive().default(600_000).describe('JWKS is refetched after this age even without an unknown kid.'),
  JWT_CACHE_TTL_MS: z.coerce.number().int().min(0).default(30_000).describe('Longest time a verified token is accepted again without checking its signature (never past its exp); 0 disables the cache.'),
  JWT_CACHE_MAX_ENTRIES: z.coerce.number().int().min(0).default(10_000).describe('Verified tokens remembered at most; the oldest goes first.'),
  JWT_TENANT_CLAIM: z.string().min(1).default('tenant').describe('Claim carrying the tenant id.'),
  JWT_ROLES_CLAIM: z.string().min(1).default('roles').describe('Claim carrying the roles (array or space-separated string).'),
  ADMIN_ROLE: z.string().min(1).default('gateway-admin').describe('Role required by /admin/state.'),
  TRUST_PROXY_HOPS: z.coerce.number().int().min(0).default(0).describe('Trusted proxies in front of the gateway; 0 = client IP is the socket peer and incoming X-Forwarded-For is replaced.'),
  VERSION_METRIC_MAX_CLIENTS: z.coerce.number().int().min(0).default(50).describe('Distinct client label values on gateway_version_calls_total; later clients count as "other".'),
});

export type GatewayConfig = z.output<typeof gatewayConfigSchema>;

export function loadGatewayConfig(env: Record<string, string | undefined> = process.env): GatewayConfig {
  return loadConfig(gatewayConfigSchema, env);
}
