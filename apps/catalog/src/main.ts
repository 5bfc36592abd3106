/**
 * Entry point (`npm run up`, containers): config, the app, signals. Start
 * listens, migrates (and seeds the demo catalog when CATALOG_SEED_TENANT is
 * set), then is ready; SIGTERM drains HTTP, closes the cache and Redis, then the pools.
 */
import { runService } from '@bulwark/service-kit';
import { createCatalogApp } from './app.ts';
import { loadCatalogConfig } from './config.ts';

const config = loadCatalogConfig();
const app = createCatalogApp({ config });
// Listens first (/healthz answers, /readyz says starting); a failed preparation is logged by runService, which exits 1.
await runService(app.service, { prepare: () => app.prepare() });
