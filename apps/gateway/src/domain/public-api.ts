/**
 * The gateway's public API as one OpenAPI 3.1 document: each upstream's
 * operations under the public path the gateway serves them at (version
 * prefix, rewrites inverted), with the gateway's bearer security and the
 * errors it adds itself (401/403, 429, 413, 410, 502/503/504). A path is
 * published only if the route table resolves it back to the same route and
 * upstream path, so the document shows what the gateway really forwards.
 * Pure: the upstream documents are fetched elsewhere (http/openapi.ts).
 */
import { getErrorCode } from '@bulwark/errors';
import type { OpenApiDocument } from '@bulwark/service-kit';
// The token refusals documented below are registered by the kit's verifier module.
import '@bulwark/service-kit/service-auth';
import { escapeRegex, TENANT_PLACEHOLDER, type CompiledRoute, type RouteTable } from './route-table.ts';

type Json = Record<string, unknown>;

/** An upstream's document, or why there is none. */
export type UpstreamDocument = { ok: true; doc: Json } | { ok: false; reason: string };

export interface PublicApiInput {
  /** The gateway's own document (its declared routes). */
  own: OpenApiDocument;
  table: RouteTable;
  /** Upstream name → its document or the reason it is missing. */
  upstreams: ReadonlyMap<string, UpstreamDocument>;
  /** Roles the gateway's own admin routes require. */
  adminRoles: readonly string[];
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
const BEARER = 'bearerAuth';

/** Codes the gateway answers itself on a proxied operation. */
function gatewayCodes(route: CompiledRoute, hasBody: boolean): string[] {
  const codes = ['UPSTREAM_UNAVAILABLE', 'UPSTREAM_TIMEOUT', 'CIRCUIT_OPEN', 'BULKHEAD_FULL', 'GATEWAY_BAD_REQUEST'];
  const auth = route.config.auth;
  if (auth) {
    codes.push('TOKEN_MISSING', 'TOKEN_INVALID', 'AUTH_UNAVAILABLE');
    if (auth.roles.length > 0) codes.push('ROLE_MISSING');
  }
  if (route.tenantScoped) codes.push('TENANT_MISSING');
  if (route.config.rateLimits.length > 0) codes.push('RATE_LIMITED', 'RATE_LIMIT_UNAVAILABLE');
  if (hasBody) codes.push('GATEWAY_BODY_TOO_LARGE');
  if (route.config.lifecycle?.retired) codes.push('VERSION_RETIRED');
  return codes.filter((c) => getErrorCode(c) !== undefined);
}

function security(route: CompiledRoute): Record<string, string[]>[] | undefined {
  const auth = route.config.auth;
  if (!auth) return undefined;
  const requirement = { [BEARER]: [...auth.roles] };
  return auth.required ? [requirement] : [requirement, {}];
}

/** `/orders/{id}` → `/orders/x` (a concrete path to resolve through the route table). */
function concrete(template: string): string {
  return template.replace(/\{[^}]+\}/g, 'p1');
}

/**
 * The public, unversioned path that reaches `upstreamPath` through `route`, if any, and the upstream
 * path parameter the gateway fills in itself (a `{tenant}` prefix: the caller's tenant from its token,
 * so the public path has no such parameter).
 */
function invert(route: CompiledRoute, upstreamPath: string): { path: string; filled?: string } | undefined {
  const addPrefix = (route.config.rewrite?.addPrefix ?? '').replace(/\/$/, '');
  let rest = upstreamPath;
  let filled: string | undefined;
  if (route.tenantScoped) {
    const [before, after] = addPrefix.split(TENANT_PLACEHOLDER) as [string, string];
    const m = new RegExp(`^${escapeRegex(before)}\\{([^}/]+)\\}${escapeRegex(after)}(?=/|$)`).exec(upstreamPath);
    if (!m) return undefined;
    filled = m[1]!;
    rest = upstreamPath.slice(m[0].length) || '/';
  } else if (addPrefix) {
    if (upstreamPath !== addPrefix && !upstreamPath.startsWith(`${addPrefix}/`)) return undefined;
    rest = upstreamPath.slice(addPrefix.length) || '/';
  }
  if ('prefix' in route.config.match && route.config.rewrite?.stripPrefix) {
    const prefix = route.config.match.prefix.replace(/\/$/, '');
    return { path: rest === '/' ? prefix || '/' : `${prefix}${rest}`, filled };
  }
  return { path: rest, filled };
}

/** Renames the upstream's component schemas where they would clash, and rewrites its $refs. */
function mergeComponents(target: Record<string, Json>, upstream: string, doc: Json): (node: unknown) => unknown {
  const schemas = ((doc.components as Json | undefined)?.schemas ?? {}) as Record<string, Json>;
  const names = new Map<string, string>();
  for (const [name, schema] of Object.entries(schemas)) {
    const existing = target[name];
    const same = existing !== undefined && JSON.stringify(existing) === JSON.stringify(schema);
    names.set(name, existing === undefined || same ? name : `${upstream}.${name}`);
  }
  const rewrite = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(rewrite);
    if (node === null || typeof node !== 'object') return node;
    const out: Json = {};
    for (const [key, value] of Object.entries(node)) {
      const m = key === '$ref' && typeof value === 'string' ? /^#\/components\/schemas\/(.+)$/.exec(value) : null;
      out[key] = m ? `#/components/schemas/${names.get(m[1]!) ?? m[1]!}` : rewrite(value);
    }
    return out;
  };
  for (const [name, schema] of Object.entries(schemas)) target[names.get(name)!] ??= rewrite(schema) as Json;
  return rewrite;
}

/**
 * A problem+json response with `codes`. The gateway describes its own codes; an upstream's codes
 * are not in this process's registry (each service registers its own), so their text is the
 * upstream's description of the response, kept as it came.
 */
function problemResponse(codes: readonly string[], upstreamDescription?: string): Json {
  const ours = codes.flatMap((c) => {
    const info = getErrorCode(c);
    return info && !upstreamDescription?.includes(`${c}:`) ? [`${info.code}: ${info.description}`] : [];
  });
  return {
    description: [upstreamDescription, ...ours].filter(Boolean).join('\n\n'),
    content: { 'application/problem+json': { schema: { allOf: [{ $ref: '#/components/schemas/Problem' }, { type: 'object', properties: { code: { enum: [...codes].sort() } } }] } } },
  };
}

/** Adds the gateway's own errors to an operation's responses (merging codes into a status the upstream already documents). */
function addGatewayResponses(op: Json, codes: readonly string[]): void {
  const responses = (op.responses ?? {}) as Record<string, Json>;
  const byStatus = new Map<string, string[]>();
  for (const code of codes) {
    const status = String(getErrorCode(code)!.status);
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  for (const [status, list] of byStatus) {
    const existing = responses[status];
    const existingCodes = existingProblemCodes(existing);
    if (existing && !existingCodes) continue; // a success the upstream documents; leave it
    responses[status] = problemResponse([...new Set([...(existingCodes ?? []), ...list])], typeof existing?.description === 'string' ? existing.description : undefined);
  }
  op.responses = responses;
}

function existingProblemCodes(response: Json | undefined): string[] | undefined {
  const schema = ((response?.content as Json | undefined)?.['application/problem+json'] as Json | undefined)?.schema as Json | undefined;
  const allOf = schema?.allOf as Json[] | undefined;
  const codes = ((allOf?.[1]?.properties as Json | undefined)?.code as Json | undefined)?.enum;
  return Array.isArray(codes) ? (codes as string[]) : undefined;
}

function camel(...words: string[]): string {
  const joined = words.join('-').replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''));
  return joined.charAt(0).toLowerCase() + joined.slice(1);
}

/** Builds the aggregated document. */
export function buildPublicApi(input: PublicApiInput): OpenApiDocument {
  const { own, table, upstreams } = input;
  const schemas: Record<string, Json> = { ...own.components.schemas };
  const paths: Record<string, Record<string, unknown>> = {};
  const unpublished: Json[] = [];

  for (const [path, item] of Object.entries(own.paths)) {
    const copy = structuredClone(item) as Record<string, Json>;
    if (path.startsWith('/admin/')) {
      for (const method of METHODS) {
        const op = copy[method];
        if (!op) continue;
        op.security = [{ [BEARER]: [...input.adminRoles] }]; // its 401/403/503 are declared on the route
      }
    }
    paths[path] = copy;
  }

  const rewriters = new Map<string, (node: unknown) => unknown>();
  for (const route of table.routes) {
    if (route.config.websocket) {
      unpublished.push({ route: route.id, reason: 'WebSocket route (not described by OpenAPI)' });
      continue;
    }
    const upstream = upstreams.get(route.config.upstream);
    if (!upstream?.ok) {
      unpublished.push({ route: route.id, reason: `upstream ${route.config.upstream} has no document: ${upstream?.reason ?? 'unknown upstream'}` });
      continue;
    }
    let rewrite = rewriters.get(route.config.upstream);
    if (!rewrite) {
      rewrite = mergeComponents(schemas, route.config.upstream, upstream.doc);
      rewriters.set(route.config.upstream, rewrite);
    }
    let published = 0;
    for (const [upstreamPath, item] of Object.entries((upstream.doc.paths ?? {}) as Record<string, Json>)) {
      const inverted = invert(route, upstreamPath);
      if (inverted === undefined) continue;
      const unversioned = inverted.path;
      const publicPath = route.version ? `/${route.version}${unversioned === '/' ? '' : unversioned}` : unversioned;
      for (const method of METHODS) {
        const source = item[method] as Json | undefined;
        if (!source) continue;
        const resolved = table.resolve(method.toUpperCase(), concrete(publicPath), undefined);
        if (resolved.kind !== 'found' || resolved.route.id !== route.id || concrete(resolved.upstreamPath) !== concrete(upstreamPath)) continue;
        if (paths[publicPath]?.[method]) continue; // an earlier route already publishes it
        const op = rewrite(source) as Json;
        op.operationId = camel(route.id, String(source.operationId ?? `${method}${upstreamPath}`));
        op['x-bulwark-upstream'] = { name: route.config.upstream, route: route.id, path: upstreamPath };
        if (inverted.filled !== undefined) {
          // The gateway fills it from the token: not a parameter of the public operation.
          const params = (op.parameters ?? []) as Json[];
          op.parameters = params.filter((prm) => !(prm.in === 'path' && prm.name === inverted.filled));
          op['x-bulwark-tenant-from-token'] = inverted.filled;
        }
        const requirement = security(route);
        if (requirement) op.security = requirement;
        addGatewayResponses(op, gatewayCodes(route, source.requestBody !== undefined));
        (paths[publicPath] ??= {})[method] = op;
        published++;
      }
    }
    if (published === 0) unpublished.push({ route: route.id, reason: `no operation of upstream ${route.config.upstream} is reachable through this route` });
  }

  const upstreamStatus = Object.fromEntries([...upstreams].map(([name, u]) => [name, u.ok ? { status: 'included' } : { status: 'missing', reason: u.reason }]));
  return {
    openapi: '3.1.0',
    info: {
      title: `${own.info.title} public API`,
      version: own.info.version,
      description: 'Every operation the gateway forwards, at its public path, aggregated from the upstream services\' documents. `x-bulwark-upstreams` says which upstream documents were missing when this was built.',
    },
    paths,
    components: {
      schemas,
      securitySchemes: { [BEARER]: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'Access token verified by the gateway against the JWKS; the requirement lists the roles the route needs.' } },
    },
    'x-bulwark-upstreams': upstreamStatus,
    'x-bulwark-unpublished-routes': unpublished,
  };
}
