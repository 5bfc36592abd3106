/**
 * The edge's own API, behind a service token: purge by surrogate key or URL,
 * and warm a list of URLs. Paths under /_edge/ never reach the origin.
 */
import type { RequestHandler } from 'express';
import type { RouteRegistrar } from '@bulwark/service-kit';
import { requireServiceToken, SERVICE_TOKEN_ERRORS, SERVICE_TOKEN_HEADERS, type TokenVerifier } from '@bulwark/service-kit/service-auth';
import { cacheKey } from '../cache/key.ts';
import type { EdgeStore } from '../cache/store.ts';
import { edgeError } from '../errors.ts';
import type { EdgeMetrics } from '../metrics.ts';
import { PurgeBody, PurgeResponse, WarmBody, WarmResponse } from './schemas.ts';

export interface RouteDeps {
  store: EdgeStore;
  metrics: EdgeMetrics;
  /** Undefined without JWKS_URL: the API answers 503. */
  verifier: TokenVerifier | undefined;
  clients: readonly string[];
  warm(host: string, path: string): Promise<boolean>;
}

const WARM_CONCURRENCY = 4;

export function registerRoutes(r: RouteRegistrar, deps: RouteDeps): void {
  const { store, metrics } = deps;
  const unconfigured: RequestHandler = (_req, _res, next) => next(edgeError('EDGE_PURGE_UNCONFIGURED', 'the purge API has no token verifier (JWKS_URL unset)'));
  const serviceOnly = deps.verifier ? requireServiceToken(deps.verifier, { clients: deps.clients }) : unconfigured;
  const errors = [...SERVICE_TOKEN_ERRORS, 'EDGE_PURGE_UNCONFIGURED'];

  r.post('/_edge/purge', {
    summary: 'Drop every stored object tagged with one of the surrogate keys, and the named URLs (service token)',
    errors,
    headers: SERVICE_TOKEN_HEADERS,
    middleware: [serviceOnly],
    body: PurgeBody,
    responses: { 200: PurgeResponse },
    handler: async ({ body }) => {
      let purged = 0;
      for (const tag of body.surrogateKeys) purged += store.purgeTag(tag);
      for (const url of body.urls) {
        const u = new URL(url);
        if (store.delete(cacheKey(u.host, `${u.pathname}${u.search}`))) purged++;
      }
      metrics.purged.inc({ source: 'api' }, purged);
      metrics.storeObjects.set(store.objects);
      metrics.storeBytes.set(store.bytes);
      return { status: 200, body: { purged } };
    },
  });

  r.post('/_edge/warm', {
    summary: 'Fetch the named URLs from the origin into the store (service token); storable answers are kept',
    errors,
    headers: SERVICE_TOKEN_HEADERS,
    middleware: [serviceOnly],
    body: WarmBody,
    responses: { 200: WarmResponse },
    handler: async ({ body }) => {
      const queue = [...body.urls];
      const skipped: { url: string; reason: string }[] = [];
      let stored = 0;
      const worker = async () => {
        for (let url = queue.shift(); url !== undefined; url = queue.shift()) {
          const u = new URL(url);
          try {
            if (await deps.warm(u.host, `${u.pathname}${u.search}`)) stored++;
            else skipped.push({ url, reason: 'not storable' });
          } catch (err) {
            skipped.push({ url, reason: (err as Error).message });
          }
        }
      };
      await Promise.all(Array.from({ length: WARM_CONCURRENCY }, worker));
      return { status: 200, body: { stored, skipped } };
    },
  });
}
