/**
 * Entry point (`npm run up`, containers): config, the app, signals. Start
 * listens, migrates, starts the click flusher and the outbox relay, then is
 * ready; SIGTERM drains HTTP, writes the pending clicks, then closes the pools.
 */
import { runService } from '@bulwark/service-kit';
import { createShortenerApp } from './app.ts';
import { loadShortenerConfig } from './config.ts';

const config = loadShortenerConfig();
const app = createShortenerApp({ config });
// Listens first (/healthz answers, /readyz says starting); a failed preparation is logged by runService, which exits 1.
await runService(app.service, { prepare: () => app.prepare() });
