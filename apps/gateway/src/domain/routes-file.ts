/**
 * The routes file: its zod schema, loading (JSON or YAML) and validation with
 * errors that name the route and the field. Resilience settings live on the
 * upstream (breaker and bulkhead state is per upstream); a route may override
 * its timeout and retry policy.
 *
 * Where an upstream is comes from the deployment, not the file: an upstream
 * without `url` takes it from GATEWAY_UPSTREAMS (`name=url,…`), which `npm
 * run up` fills from the apps' declared ports and the chart from Service DNS
 * names, so no port is written twice. A `url` in the file is for what the
 * platform does not run (an external API).
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { gatewayError } from '../errors.ts';

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
const VERSION = /^v\d+$/;
const PATH = /^\/[A-Za-z0-9._~\-/:*]*$/;

const retrySchema = z.strictObject({
  attempts: z.number().int().min(1).max(10).default(1).describe('Total attempts including the first (1 = no retry).'),
  baseDelayMs: z.number().int().min(0).default(25),
  maxDelayMs: z.number().int().min(0).default(1000),
  budgetRatio: z.number().min(0).max(1).default(0.2).describe('Retries may be at most this fraction of requests over the window.'),
  budgetWindowSeconds: z.number().int().min(1).max(600).default(10),
  minRetriesPerWindow: z.number().int().min(0).default(10).describe('Retries always allowed per window, so low traffic can still retry.'),
  retryOn: z.array(z.number().int().min(500).max(599)).default([502, 503, 504]),
  maxBufferedBodyBytes: z.number().int().min(0).default(65_536).describe('Request bodies up to this size are buffered so they can be retried; larger ones stream with no retry.'),
});

const breakerSchema = z.strictObject({
  enabled: z.boolean().default(true),
  errorThresholdPercentage: z.number().min(1).max(100).default(50),
  volumeThreshold: z.number().int().min(1).default(20),
  rollingWindowMs: z.number().int().min(100).default(10_000),
  resetTimeoutMs: z.number().int().min(10).default(10_000),
});

const bulkheadSchema = z.strictObject({
  maxConcurrent: z.number().int().min(1).default(256),
  retryAfterSeconds: z.number().int().min(0).default(1),
});

const upstreamUrl = z.url({ protocol: /^https?$/ });

const upstreamSchema = z.strictObject({
  url: upstreamUrl.optional().describe('Only for an upstream the platform does not run; platform services get theirs from GATEWAY_UPSTREAMS.'),
  connections: z.number().int().min(1).default(128).describe('Keep-alive connections per upstream origin.'),
  timeoutMs: z.number().int().min(1).default(10_000),
  retry: retrySchema.default(retrySchema.parse({})),
  breaker: breakerSchema.default(breakerSchema.parse({})),
  bulkhead: bulkheadSchema.default(bulkheadSchema.parse({})),
});

const rateLimitRefSchema = z.strictObject({
  policy: z.string().min(1),
  by: z.enum(['ip', 'user', 'tenant', 'route']),
});

const lifecycleSchema = z.strictObject({
  deprecated: z.union([z.iso.datetime({ offset: true }), z.literal(true)]).optional().describe('Sends `Deprecation`: since when (RFC 9745 date) or just true.'),
  sunset: z.iso.datetime({ offset: true }).optional().describe('Sends `Sunset` (RFC 8594).'),
  successor: z.string().min(1).optional().describe('Path or URL of the successor version; `Link: <…>; rel="successor-version"`.'),
  retired: z.boolean().default(false).describe('Answer 410 pointing at the successor instead of proxying.'),
});

const matchSchema = z.union([
  z.strictObject({ prefix: z.string().regex(PATH, 'must be an absolute path') }),
  z.strictObject({ pattern: z.string().regex(PATH, 'must be an absolute path with :params and an optional trailing *') }),
]);

const routeSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lowercase letters, digits and dashes'),
  match: matchSchema,
  version: z.string().regex(VERSION, 'like "v1"').optional(),
  upstream: z.string().min(1),
  methods: z.array(z.enum(METHODS)).min(1).optional().describe('Allowed methods; all when omitted.'),
  rewrite: z
    .strictObject({
      stripPrefix: z.boolean().default(false),
      addPrefix: z
        .string()
        .regex(/^\/[A-Za-z0-9._~\-/:*{}]*$/)
        .refine((v) => !/[{}]/.test(v.replaceAll('{tenant}', '')), 'only the {tenant} placeholder may appear in braces')
        .optional()
        .describe('Prefix added upstream; {tenant} (once) becomes the verified token\'s tenant, so a client cannot choose it.'),
    })
    .optional(),
  auth: z
    .strictObject({
      required: z.boolean().default(true),
      roles: z.array(z.string().min(1)).default([]),
      forwardToken: z.boolean().default(false).describe('Pass the verified Authorization header upstream too; by default it stops at the gateway (upstreams get x-auth-*).'),
    })
    .optional(),
  upstreamAuthenticates: z
    .boolean()
    .default(false)
    .describe(
      'The upstream authenticates the client itself (an OAuth token, introspection or revocation endpoint: HTTP Basic client_secret_basic): the gateway neither verifies nor refuses the Authorization header and forwards it as sent. Not with auth or {tenant}.',
    ),
  rateLimits: z.array(rateLimitRefSchema).default([]),
  timeoutMs: z.number().int().min(1).optional(),
  retry: retrySchema.partial().optional(),
  maxBodyBytes: z.number().int().min(0).optional(),
  websocket: z.boolean().default(false),
  lifecycle: lifecycleSchema.optional(),
});

const corsSchema = z.strictObject({
  allowedOrigins: z.array(z.union([z.url(), z.literal('*')])).default([]),
  allowedMethods: z.array(z.enum(METHODS)).default(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']),
  allowedHeaders: z.array(z.string().min(1)).default(['authorization', 'content-type', 'accept-version', 'idempotency-key', 'x-request-id']),
  exposedHeaders: z.array(z.string().min(1)).default(['x-request-id', 'ratelimit', 'ratelimit-policy', 'retry-after', 'deprecation', 'sunset', 'link']),
  allowCredentials: z.boolean().default(false),
  maxAgeSeconds: z.number().int().min(0).default(600),
});

const leaseSchema = z.strictObject({
  units: z.number().int().min(1).describe('Units each gateway instance takes from Redis per grant and spends locally; below the limit.'),
  ttlSeconds: z.number().positive().optional().describe('Longest a lease is held; default min(1, windowSeconds / 10), at most windowSeconds.'),
});

const policySchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/),
  algorithm: z.enum(['token-bucket', 'sliding-window', 'fixed-window']),
  limit: z.number().int().min(1),
  windowSeconds: z.number().positive(),
  lease: leaseSchema.optional().describe('Opt-in quota lease (@bulwark/ratelimit README "Leases"): fewer Redis calls, may under-admit by units × instances.'),
});

export const DEFAULT_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
};

export const routesFileSchema = z.strictObject({
  $schema: z.string().optional(),
  defaultVersion: z.string().regex(VERSION).optional().describe('Version assumed when neither the path nor Accept-Version names one.'),
  upstreams: z.record(z.string().regex(/^[a-z0-9][a-z0-9-]*$/), upstreamSchema),
  rateLimitPolicies: z.array(policySchema).default([]),
  cors: corsSchema.optional(),
  securityHeaders: z.record(z.string().regex(/^[a-z0-9-]+$/), z.string()).default({ ...DEFAULT_SECURITY_HEADERS }),
  knownClients: z.array(z.string().min(1)).default([]).describe('Clients always given their own label on the per-version metric.'),
  routes: z.array(routeSchema).min(1),
});

type ParsedRoutesFile = z.output<typeof routesFileSchema>;
/** An upstream with its address resolved (from the file or GATEWAY_UPSTREAMS). */
export type UpstreamConfig = ParsedRoutesFile['upstreams'][string] & { url: string };
export type RoutesFile = Omit<ParsedRoutesFile, 'upstreams'> & { upstreams: Record<string, UpstreamConfig> };
export type RouteConfig = RoutesFile['routes'][number];
export type RetryConfig = z.output<typeof retrySchema>;
export type BreakerConfig = z.output<typeof breakerSchema>;
export type BulkheadConfig = z.output<typeof bulkheadSchema>;
export type CorsConfig = z.output<typeof corsSchema>;

/** Names the route (by id when it has one) and the field of a zod issue path. */
function describePath(input: unknown, path: readonly PropertyKey[]): string {
  if (path[0] === 'routes' && typeof path[1] === 'number') {
    const routes = (input as { routes?: unknown[] }).routes;
    const id = (routes?.[path[1]] as { id?: unknown } | undefined)?.id;
    const name = typeof id === 'string' ? `route "${id}"` : `route #${path[1]}`;
    return path.length > 2 ? `${name} field ${path.slice(2).map(String).join('.')}` : name;
  }
  if (path[0] === 'rateLimitPolicies' && typeof path[1] === 'number') {
    const name = (input as { rateLimitPolicies?: { name?: unknown }[] }).rateLimitPolicies?.[path[1]]?.name;
    const label = typeof name === 'string' ? `rate-limit policy "${name}"` : `rate-limit policy #${path[1]}`;
    return path.length > 2 ? `${label} field ${path.slice(2).map(String).join('.')}` : label;
  }
  if (path[0] === 'upstreams' && path.length > 1) return `upstream "${String(path[1])}"${path.length > 2 ? ` field ${path.slice(2).map(String).join('.')}` : ''}`;
  return path.length > 0 ? `field ${path.map(String).join('.')}` : '(root)';
}

/**
 * Validates a parsed routes document and resolves every upstream's address
 * (`addresses`: GATEWAY_UPSTREAMS, name → URL, over the file's `url`); throws
 * ROUTES_FILE_INVALID listing every problem.
 */
export function validateRoutesFile(input: unknown, source = 'routes file', addresses: Readonly<Record<string, string>> = {}): RoutesFile {
  const parsed = routesFileSchema.safeParse(input);
  const problems: string[] = parsed.success ? [] : parsed.error.issues.map((i) => `${describePath(input, i.path)}: ${i.message}`);
  if (parsed.success) problems.push(...crossCheck(parsed.data), ...addressProblems(parsed.data, addresses));
  if (problems.length > 0 || !parsed.success) {
    throw gatewayError('ROUTES_FILE_INVALID', `${source} is invalid (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems.map((p) => `  - ${p}`).join('\n')}`, { extensions: { problems } });
  }
  const upstreams = Object.fromEntries(Object.entries(parsed.data.upstreams).map(([name, u]) => [name, { ...u, url: addresses[name] ?? u.url! }]));
  return { ...parsed.data, upstreams };
}

/** Every upstream needs an address; an address for an upstream the file does not have is a typo. */
function addressProblems(file: ParsedRoutesFile, addresses: Readonly<Record<string, string>>): string[] {
  const problems: string[] = [];
  for (const [name, upstream] of Object.entries(file.upstreams)) {
    if (addresses[name] === undefined && upstream.url === undefined) problems.push(`upstream "${name}": no address (set ${name}=<url> in GATEWAY_UPSTREAMS)`);
  }
  for (const name of Object.keys(addresses)) {
    if (!Object.hasOwn(file.upstreams, name)) problems.push(`GATEWAY_UPSTREAMS names "${name}", which is no upstream of the file (known: ${Object.keys(file.upstreams).join(', ')})`);
  }
  return problems;
}

/** Parses GATEWAY_UPSTREAMS (`name=url,name=url`); throws on a malformed entry or URL. */
export function parseUpstreamAddresses(value: string): Record<string, string> {
  const addresses: Record<string, string> = {};
  for (const entry of value.split(',').map((e) => e.trim()).filter(Boolean)) {
    const eq = entry.indexOf('=');
    const name = entry.slice(0, eq).trim();
    const url = entry.slice(eq + 1).trim();
    if (eq <= 0 || !/^[a-z0-9][a-z0-9-]*$/.test(name)) throw new Error(`"${entry}" is not name=url`);
    if (!upstreamUrl.safeParse(url).success) throw new Error(`"${entry}": ${JSON.stringify(url)} is not an http(s) URL`);
    if (Object.hasOwn(addresses, name)) throw new Error(`"${name}" is named twice`);
    addresses[name] = url;
  }
  return addresses;
}

/** What zod cannot see alone: references between sections, duplicates. */
function crossCheck(file: ParsedRoutesFile): string[] {
  const problems: string[] = [];
  const ids = new Set<string>();
  const policies = new Set(file.rateLimitPolicies.map((p) => p.name));
  for (const policy of file.rateLimitPolicies) {
    const name = `rate-limit policy "${policy.name}"`;
    if (policy.lease && policy.lease.units >= policy.limit) problems.push(`${name} field lease.units: must be below the limit (${policy.limit}), got ${policy.lease.units}`);
    if (policy.lease?.ttlSeconds !== undefined && policy.lease.ttlSeconds > policy.windowSeconds) {
      problems.push(`${name} field lease.ttlSeconds: must be at most windowSeconds (${policy.windowSeconds}), got ${policy.lease.ttlSeconds}`);
    }
  }
  for (const route of file.routes) {
    const name = `route "${route.id}"`;
    if (ids.has(route.id)) problems.push(`${name}: duplicate id`);
    ids.add(route.id);
    if (!Object.hasOwn(file.upstreams, route.upstream)) problems.push(`${name} field upstream: no upstream named "${route.upstream}" (known: ${Object.keys(file.upstreams).join(', ')})`);
    route.rateLimits.forEach((ref, i) => {
      if (!policies.has(ref.policy)) problems.push(`${name} field rateLimits.${i}.policy: no rate-limit policy named "${ref.policy}"`);
    });
    const seen = new Set<string>();
    route.rateLimits.forEach((ref, i) => {
      if (seen.has(ref.policy)) problems.push(`${name} field rateLimits.${i}.policy: "${ref.policy}" is applied twice`);
      seen.add(ref.policy);
    });
    if ('pattern' in route.match && route.rewrite?.stripPrefix) problems.push(`${name} field rewrite.stripPrefix: only prefix routes can strip their prefix`);
    if (route.lifecycle?.retired && !route.lifecycle.successor) problems.push(`${name} field lifecycle.successor: a retired route must name its successor`);
    const tenantSlots = route.rewrite?.addPrefix?.split('{tenant}').length ?? 1;
    if (tenantSlots > 2) problems.push(`${name} field rewrite.addPrefix: {tenant} may appear once`);
    if (tenantSlots === 2 && route.auth?.required !== true) problems.push(`${name} field auth.required: a route whose prefix takes {tenant} from the token must require a token`);
    if (route.upstreamAuthenticates && route.auth !== undefined) problems.push(`${name} field upstreamAuthenticates: the upstream authenticates the client, so the route cannot also declare auth`);
    if (route.upstreamAuthenticates && route.websocket) problems.push(`${name} field upstreamAuthenticates: not supported on WebSocket routes`);
    if (tenantSlots === 2 && route.websocket) problems.push(`${name} field rewrite.addPrefix: {tenant} is not supported on WebSocket routes`);
  }
  return problems;
}

/** Reads and validates the routes file at `file` (YAML for .yaml/.yml, else JSON), with the upstream addresses of the deployment. */
export function loadRoutesFile(file: string, addresses: Readonly<Record<string, string>> = {}): RoutesFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw gatewayError('ROUTES_FILE_INVALID', `cannot read routes file ${file}: ${(err as Error).message}`, { cause: err });
  }
  let doc: unknown;
  try {
    doc = /\.ya?ml$/i.test(file) ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    throw gatewayError('ROUTES_FILE_INVALID', `routes file ${file} does not parse: ${(err as Error).message}`, { cause: err });
  }
  return validateRoutesFile(doc, `routes file ${file}`, addresses);
}
