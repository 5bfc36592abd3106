/**
 * Entry point (`npm run up`, containers): config, the app, signals. Listens,
 * migrates and locks the log down, starts the tree head signer and the
 * consumer, then is ready; SIGTERM drains HTTP, stops the consumer and the
 * signer, closes the pools.
 */
import { runService } from '@bulwark/service-kit';
import { createAuditApp } from './app.ts';
import { loadAuditConfig } from './config.ts';

const config = loadAuditConfig();
const app = createAuditApp({ config });
await runService(app.service, {
  prepare: async () => {
    await app.prepare();
    app.startWorkers();
  },
});
