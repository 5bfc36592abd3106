/**
 * Entry point (`npm run up`, containers): config, the app, signals. Start
 * listens, runs migrations, provisions the topic and replication slot, starts
 * the projectors and the CDC relay, then is ready; SIGTERM drains HTTP and stops
 * the workers before the pool closes.
 */
import { runService } from '@bulwark/service-kit';
import { createOrdersApp } from './app.ts';
import { loadOrdersConfig } from './config.ts';

const config = loadOrdersConfig();
const app = createOrdersApp({ config });
// Listens first (/healthz answers, /readyz says starting); a failed preparation is logged by runService, which exits 1.
await runService(app.service, {
  prepare: async () => {
    await app.prepare();
    app.workers.start();
  },
});
