/**
 * The compiled route table: resolves a request's API version (path prefix
 * `/vN/…`, else `Accept-Version`, else the file's default), finds the first
 * route in file order whose match fits the unversioned path, and computes the
 * upstream path after rewriting.
 */
import type { RouteConfig, RoutesFile } from './routes-file.ts';

/**
 * In `rewrite.addPrefix`, the caller's tenant from its verified token (e.g. `/v1/tenants/{tenant}`):
 * a tenant route takes the tenant from the token, never from a path the client can change.
 */
export const TENANT_PLACEHOLDER = '{tenant}';

export interface CompiledRoute {
  config: RouteConfig;
  id: string;
  /** `rewrite.addPrefix` holds TENANT_PLACEHOLDER: the upstream path starts with it until the request is admitted (tenantPath()). */
  tenantScoped: boolean;
  version: string | undefined;
  methods: ReadonlySet<string> | undefined;
  /** Matches the unversioned path; returns the path the upstream receives, or undefined. */
  match(path: string): string | undefined;
}

export type Resolution =
  | { kind: 'found'; route: CompiledRoute; upstreamPath: string; version: string | undefined }
  | { kind: 'method-not-allowed'; allow: string[] }
  | { kind: 'unknown-version'; version: string; known: string[] }
  | { kind: 'not-found' };

const VERSION_PREFIX = /^\/(v\d+)(?=\/|$)/;

export function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function joinPath(prefix: string, rest: string): string {
  if (!prefix || prefix === '/') return rest || '/';
  const p = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  if (!rest || rest === '/') return p;
  return p + (rest.startsWith('/') ? rest : `/${rest}`);
}

export function compileRoute(config: RouteConfig): CompiledRoute {
  const addPrefix = config.rewrite?.addPrefix ?? '';
  const strip = config.rewrite?.stripPrefix ?? false;
  let match: (path: string) => string | undefined;
  if ('prefix' in config.match) {
    const prefix = config.match.prefix.length > 1 && config.match.prefix.endsWith('/') ? config.match.prefix.slice(0, -1) : config.match.prefix;
    match = (path) => {
      if (prefix === '/') return joinPath(addPrefix, path);
      if (path !== prefix && !path.startsWith(`${prefix}/`)) return undefined;
      return joinPath(addPrefix, strip ? path.slice(prefix.length) || '/' : path);
    };
  } else {
    const pattern = config.match.pattern;
    const wildcard = pattern.endsWith('*');
    const body = (wildcard ? pattern.slice(0, -1) : pattern).split('/').map((seg) => (seg.startsWith(':') ? '[^/]+' : escapeRegex(seg))).join('/');
    const re = new RegExp(`^${body}${wildcard ? '.*' : '/?'}$`);
    match = (path) => (re.test(path) ? joinPath(addPrefix, path) : undefined);
  }
  const tenantScoped = addPrefix.includes(TENANT_PLACEHOLDER);
  return { config, id: config.id, version: config.version, tenantScoped, methods: config.methods ? new Set(config.methods) : undefined, match };
}

/**
 * The upstream path of a tenant-scoped route for `tenant`: the placeholder, at its one place in the
 * prefix the route added, becomes the tenant (percent-encoded, so it stays one path segment).
 * Whatever the client put in the rest of its path is left as it is.
 */
export function tenantPath(route: CompiledRoute, upstreamPath: string, tenant: string): string {
  const at = upstreamPath.indexOf(TENANT_PLACEHOLDER);
  const prefixEnd = (route.config.rewrite?.addPrefix ?? '').indexOf(TENANT_PLACEHOLDER);
  if (at !== prefixEnd) throw new Error(`route ${route.id}: the tenant placeholder is not where the prefix put it`);
  return upstreamPath.slice(0, at) + encodeURIComponent(tenant) + upstreamPath.slice(at + TENANT_PLACEHOLDER.length);
}

export class RouteTable {
  readonly routes: readonly CompiledRoute[];
  readonly versions: readonly string[];
  readonly #defaultVersion: string | undefined;

  constructor(file: RoutesFile) {
    this.routes = file.routes.map(compileRoute);
    this.versions = [...new Set(file.routes.flatMap((r) => (r.version ? [r.version] : [])))].sort();
    this.#defaultVersion = file.defaultVersion;
  }

  /** `path` is the request path without query, already percent-decoded-safe (matched as sent). */
  resolve(method: string, path: string, acceptVersion: string | undefined): Resolution {
    let version: string | undefined;
    let rest = path;
    const prefixed = VERSION_PREFIX.exec(path);
    if (prefixed) {
      version = prefixed[1]!;
      rest = path.slice(prefixed[0].length) || '/';
    } else if (acceptVersion !== undefined && acceptVersion !== '') {
      version = acceptVersion.trim();
    } else {
      version = this.#defaultVersion;
    }
    if (version !== undefined && (prefixed || acceptVersion) && !this.versions.includes(version)) {
      return { kind: 'unknown-version', version, known: [...this.versions] };
    }
    const allow = new Set<string>();
    for (const route of this.routes) {
      let upstreamPath: string | undefined;
      if (route.version === undefined) {
        if (prefixed) continue; // an unversioned route never answers a /vN path
        upstreamPath = route.match(path);
      } else {
        if (route.version !== version) continue;
        upstreamPath = route.match(rest);
      }
      if (upstreamPath === undefined) continue;
      if (route.methods && !route.methods.has(method) && !(method === 'HEAD' && route.methods.has('GET'))) {
        for (const m of route.methods) allow.add(m);
        continue;
      }
      return { kind: 'found', route, upstreamPath, version: route.version };
    }
    if (allow.size > 0) return { kind: 'method-not-allowed', allow: [...allow] };
    return { kind: 'not-found' };
  }
}
