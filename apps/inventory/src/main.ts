/**
 * Entry point (`npm run up`, containers): config, the app, signals. Start
 * listens, runs migrations and the expiry sweeper, then is ready; SIGTERM drains HTTP,
 * stops the sweeper, then closes the pool.
 */
import { runService } from '@bulwark/service-kit';
import { createInventoryApp } from './app.ts';
import { loadInventoryConfig } from './config.ts';

const config = loadInventoryConfig();
const app = createInventoryApp({ config });
// Listens first (/healthz answers, /readyz says starting); a failed preparation is logged by runService, which exits 1.
await runService(app.service, {
  prepare: async () => {
    await app.prepare();
    app.startWorkers();
  },
});
