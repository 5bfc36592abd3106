/** The shortener's own metrics (the kit adds RED metrics per route; the cache and the pool their own). */
import type { Counter, Registry } from 'prom-client';
import { ensureCounter } from '@bulwark/service-kit/metrics';

export interface ShortenerMetrics {
  redirects: Counter<'outcome'>;
  linksCreated: Counter<'kind'>;
  codeCollisions: Counter;
}

export function createShortenerMetrics(registry: Registry): ShortenerMetrics {
  return {
    redirects: ensureCounter(registry, { name: 'shortener_redirects_total', help: 'Redirect requests by outcome (temporary, permanent, not_found, expired).', labelNames: ['outcome'] }),
    linksCreated: ensureCounter(registry, { name: 'shortener_links_created_total', help: 'Links created, by kind of code (generated, alias).', labelNames: ['kind'] }),
    codeCollisions: ensureCounter(registry, { name: 'shortener_code_collisions_total', help: 'Generated codes that were taken already (retried).' }),
  };
}
