/** Business metrics of the catalog service (the kit adds HTTP, pool and process metrics; the cache its own). */
import { Counter, type Registry } from 'prom-client';

export interface CatalogMetrics {
  /** kind: search|suggest; outcome: hits|corrected|empty. */
  searches: Counter<'kind' | 'outcome'>;
  /** Admin writes by entity (product|category) and op (create|update|delete). */
  writes: Counter<'entity' | 'op'>;
}

export function createCatalogMetrics(registry: Registry): CatalogMetrics {
  return {
    searches: new Counter({ name: 'catalog_searches_total', help: 'Searches and suggestions by outcome (corrected: typo correction changed the query; empty: no hits).', labelNames: ['kind', 'outcome'], registers: [registry] }),
    writes: new Counter({ name: 'catalog_writes_total', help: 'Admin writes by entity and operation.', labelNames: ['entity', 'op'], registers: [registry] }),
  };
}
