/**
 * Entry point (`npm run up`, containers): config, the app, signals. Start
 * listens, migrates, seeds tenants and reads the key ring, then is ready; SIGTERM
 * drains HTTP, stops housekeeping, drains mail, then closes Redis and the pool.
 */
import { runService } from '@bulwark/service-kit';
import { createIdentityApp } from './app.ts';
import { loadIdentityConfig } from './config.ts';

const config = loadIdentityConfig();
const app = createIdentityApp({ config });
// Listens first (/healthz answers, /readyz says starting); a failed preparation is logged by runService, which exits 1.
await runService(app.service, {
  prepare: async () => {
    await app.prepare();
    app.housekeeping.start();
  },
});
