/** The edge's own metrics (the kit adds RED metrics; hit ratio is `edge_requests_total{outcome="hit"}` over the total). */
import type { Counter, Gauge, Registry } from 'prom-client';
import { ensureCounter, ensureGauge } from '@bulwark/service-kit/metrics';

export interface EdgeMetrics {
  /** GET/HEAD answers by outcome: hit, stale (while revalidating), stale_if_error, revalidated, miss, collapsed, pass. Others: pass. */
  requests: Counter<'outcome'>;
  /** Requests sent to the origin by kind: fetch, revalidate, pass. */
  originRequests: Counter<'kind'>;
  /** Body bytes answered from the store without an origin fetch (what the origin did not send). */
  bytesSaved: Counter;
  /** Body bytes sent to clients, all outcomes. */
  bytesServed: Counter;
  purged: Counter<'source'>;
  evictions: Counter<'reason'>;
  storeBytes: Gauge;
  storeObjects: Gauge;
  /** Requests waiting on another request's origin fetch of the same key (collapsed misses). */
  collapsedWaiting: Gauge;
}

export function createEdgeMetrics(registry: Registry): EdgeMetrics {
  return {
    requests: ensureCounter(registry, { name: 'edge_requests_total', help: 'Requests answered by the edge, by outcome (hit, stale, stale_if_error, revalidated, miss, collapsed, pass).', labelNames: ['outcome'] }),
    originRequests: ensureCounter(registry, { name: 'edge_origin_requests_total', help: 'Requests the edge sent to the origin, by kind (fetch, revalidate, pass).', labelNames: ['kind'] }),
    bytesSaved: ensureCounter(registry, { name: 'edge_bytes_saved_total', help: 'Body bytes answered from the store without fetching them from the origin.' }),
    bytesServed: ensureCounter(registry, { name: 'edge_bytes_served_total', help: 'Body bytes sent to clients.' }),
    purged: ensureCounter(registry, { name: 'edge_purged_objects_total', help: 'Objects dropped by purges, by source (api, kafka).', labelNames: ['source'] }),
    evictions: ensureCounter(registry, { name: 'edge_store_evictions_total', help: 'Objects that left the store, by reason (evict: the byte bound; delete: purge or invalidation; set: replaced).', labelNames: ['reason'] }),
    storeBytes: ensureGauge(registry, { name: 'edge_store_bytes', help: 'Bytes counted in the memory store (bodies, compressed copies, per-object overhead).' }),
    storeObjects: ensureGauge(registry, { name: 'edge_store_objects', help: 'Keys in the memory store.' }),
    collapsedWaiting: ensureGauge(registry, { name: 'edge_collapsed_waiting', help: "Requests waiting now on another request's origin fetch of the same key." }),
  };
}
