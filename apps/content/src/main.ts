/**
 * Entry point (`npm run up`, containers): config, the app, signals. Start
 * listens, migrates, starts the outbox relay and the scheduler, then is
 * ready; SIGTERM drains HTTP, stops the relay, then closes the pools.
 */
import { runService } from '@bulwark/service-kit';
import { createContentApp } from './app.ts';
import { loadContentConfig } from './config.ts';

const config = loadContentConfig();
const app = createContentApp({ config });
await runService(app.service, { prepare: () => app.prepare() });
