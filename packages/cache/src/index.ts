/**
 * @bulwark/cache: an in-process LRU (L1) over Redis (L2) with one origin call
 * per key across instances, early and stale-while-revalidate refresh,
 * stale-if-error, tag and event-driven invalidation, and the HTTP side
 * (strong ETags, 304s, Cache-Control) for cached GETs.
 */
export { Cache, type CacheOptions, type EntryOptions } from './cache.ts';
export { jitterTtl, shouldRefreshEarly, standing, type StaleWindows, type Standing } from './freshness.ts';
export { invalidateOn, type InvalidationTargets } from './invalidate-on.ts';
export { sendCached, cacheControl, strongEtag, ifNoneMatchHits, cacheControlValue, type HttpCachePolicy } from './http.ts';
