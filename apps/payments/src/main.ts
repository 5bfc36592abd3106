/**
 * Entry point (`npm run up`, containers): config, the app, signals. Start
 * listens, migrates the schema and provisions the topic, starts the outbox
 * relay and the orphan authorization reconciler, then is ready; SIGTERM drains HTTP, stops the relay, closes the producer,
 * the PSP breaker and the pool.
 */
import { runService } from '@bulwark/service-kit';
import { createPaymentsApp } from './app.ts';
import { loadPaymentsConfig } from './config.ts';

const config = loadPaymentsConfig();
const app = createPaymentsApp({ config });
// Listens first (/healthz answers, /readyz says starting); a failed preparation is logged by runService, which exits 1.
await runService(app.service, {
  prepare: async () => {
    await app.prepare();
    app.startWorkers();
  },
});
