/** The cache's Prometheus series, get-or-create on the caller's registry (several caches share them by the `cache` label). */
import { ensureCounter, ensureGauge, ensureHistogram, Registry } from '@bulwark/service-kit/metrics';

export function createCacheMetrics(registry: Registry) {
  return {
    hits: ensureCounter(registry, { name: 'cache_hits_total', help: 'Lookups answered by a tier (l1 = in process, l2 = Redis), stale answers included.', labelNames: ['cache', 'tier'] }),
    misses: ensureCounter(registry, { name: 'cache_misses_total', help: 'Lookups a tier could not answer.', labelNames: ['cache', 'tier'] }),
    stale: ensureCounter(registry, { name: 'cache_stale_served_total', help: 'Stale values served, because a refresh is under way (revalidate) or the origin failed (error).', labelNames: ['cache', 'reason'] }),
    factoryCalls: ensureCounter(registry, { name: 'cache_factory_calls_total', help: 'Origin (factory) calls, by outcome.', labelNames: ['cache', 'outcome'] }),
    factorySeconds: ensureHistogram(registry, { name: 'cache_factory_duration_seconds', help: 'Time an origin (factory) call took.', labelNames: ['cache'], buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5] }),
    stampedeWaits: ensureCounter(registry, { name: 'cache_stampede_waits_total', help: 'Fills that waited for another instance holding the key\'s lease instead of calling the origin.', labelNames: ['cache'] }),
    earlyRefreshes: ensureCounter(registry, { name: 'cache_early_refreshes_total', help: 'Background refreshes started before expiry (probabilistic) or while serving stale.', labelNames: ['cache', 'reason'] }),
    invalidations: ensureCounter(registry, { name: 'cache_invalidations_total', help: 'Invalidations applied, by kind (key, tag) and source (local call, remote instance via pub/sub).', labelNames: ['cache', 'kind', 'source'] }),
    l2Errors: ensureCounter(registry, { name: 'cache_l2_errors_total', help: 'Redis (L2) operations that failed or timed out; the cache kept serving from L1 and the origin.', labelNames: ['cache'] }),
    l2Up: ensureGauge(registry, { name: 'cache_l2_up', help: '1 while Redis (L2) answers, 0 while the cache runs on L1 and the origin only.', labelNames: ['cache'] }),
  };
}

export type CacheMetrics = ReturnType<typeof createCacheMetrics>;
