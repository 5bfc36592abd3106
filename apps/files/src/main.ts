/**
 * Entry point (`npm run up`, containers): config, the app, signals. Start
 * listens, migrates, creates the buckets, starts the scanner and the outbox
 * relay, then is ready; SIGTERM drains HTTP, stops the scanner and the relay,
 * then closes the pool.
 */
import { runService } from '@bulwark/service-kit';
import { createFilesApp } from './app.ts';
import { loadFilesConfig } from './config.ts';

const config = loadFilesConfig();
const app = createFilesApp({ config });
await runService(app.service, {
  prepare: async () => {
    await app.prepare();
    app.startWorkers();
  },
});
