/**
 * Entry point (`npm run up`, containers): config, the app, signals. Start
 * migrates (and seeds the demo catalog when CATALOG_SEED_TENANT is set), then
 * listens; SIGTERM drains HTTP, closes the cache and Redis, then the pools.
 */
import { runService } from '@bulwark/service-kit';
import { createCatalogApp } from './app.ts';
import { loadCatalogConfig } from './config.ts';

const config = loadCatalogConfig();
const app = createCatalogApp({ config });
try {
  await app.prepare();
} catch (err) {
  app.service.log.fatal({ err }, 'preparing the database failed');
  app.service.log.flush();
  process.exit(1);
}
await runService(app.service);
