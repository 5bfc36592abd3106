/**
 * Entry point (`npm run up`, containers): config, the app, signals. Start
 * listens, migrates, then is ready; SIGTERM ends the snapshot streams,
 * drains HTTP, stops the scheduler and the relay, then closes the pools.
 */
import { runService } from '@bulwark/service-kit';
import { createFlagsApp } from './app.ts';
import { loadFlagsConfig } from './config.ts';

const config = loadFlagsConfig();
const app = createFlagsApp({ config });
// Listens first (/healthz answers, /readyz says starting); a failed preparation is logged by runService, which exits 1.
await runService(app.service, { prepare: () => app.prepare() });
