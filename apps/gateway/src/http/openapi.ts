/**
 * Serves the aggregated public API at /openapi.json: fetches each upstream's
 * /openapi.json through its connection pool (bounded by a timeout), builds
 * the document (domain/public-api.ts) and caches it: for `ttlMs` when every
 * upstream answered, for `retryMs` when one was missing, so a document with a
 * hole is rebuilt soon. Concurrent requests share one build.
 */
import type { OpenApiDocument } from '@bulwark/service-kit';
import { buildPublicApi, type UpstreamDocument } from '../domain/public-api.ts';
import type { RouteTable } from '../domain/route-table.ts';
import type { Upstream } from '../upstreams/upstream.ts';

export interface PublicApiOptions {
  table: RouteTable;
  upstreams: ReadonlyMap<string, Upstream>;
  adminRoles: readonly string[];
  timeoutMs?: number;
  ttlMs?: number;
  retryMs?: number;
}

async function fetchDocument(upstream: Upstream, timeoutMs: number): Promise<UpstreamDocument> {
  try {
    const res = await upstream.pool.request({ method: 'GET', path: `${upstream.basePath}/openapi.json`, headers: { accept: 'application/json' }, signal: AbortSignal.timeout(timeoutMs) });
    const text = await res.body.text();
    if (res.statusCode !== 200) return { ok: false, reason: `GET ${upstream.config.url}/openapi.json answered ${res.statusCode}` };
    const doc = JSON.parse(text) as unknown;
    if (typeof doc !== 'object' || doc === null || typeof (doc as { paths?: unknown }).paths !== 'object') return { ok: false, reason: `${upstream.config.url}/openapi.json is not an OpenAPI document` };
    return { ok: true, doc: doc as Record<string, unknown> };
  } catch (err) {
    return { ok: false, reason: `GET ${upstream.config.url}/openapi.json failed: ${(err as Error).message}` };
  }
}

/** The provider handed to `kit.publishOpenApi`. */
export function publicApiProvider(options: PublicApiOptions): (own: OpenApiDocument) => Promise<OpenApiDocument> {
  const { timeoutMs = 2_000, ttlMs = 60_000, retryMs = 5_000 } = options;
  let cached: { doc: OpenApiDocument; until: number } | undefined;
  let building: Promise<OpenApiDocument> | undefined;
  const build = async (own: OpenApiDocument): Promise<OpenApiDocument> => {
    const names = [...new Set([...options.table.routes].filter((r) => !r.config.websocket).map((r) => r.config.upstream))];
    const fetched = await Promise.all(names.map(async (name) => [name, await fetchDocument(options.upstreams.get(name)!, timeoutMs)] as const));
    const upstreams = new Map(fetched);
    const doc = buildPublicApi({ own, table: options.table, upstreams, adminRoles: options.adminRoles });
    const complete = fetched.every(([, u]) => u.ok);
    cached = { doc, until: Date.now() + (complete ? ttlMs : retryMs) };
    return doc;
  };
  return (own) => {
    if (cached && Date.now() < cached.until) return Promise.resolve(cached.doc);
    building ??= build(own).finally(() => {
      building = undefined;
    });
    return building;
  };
}
