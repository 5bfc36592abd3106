/**
 * Entry point (`npm run up`, containers): config, the app, signals. Start
 * listens, migrates, creates the day partitions and topics, starts the
 * writer, then is ready; SIGTERM drains HTTP, stops the writer, closes pools.
 */
import { runService } from '@bulwark/service-kit';
import { createAnalyticsApp } from './app.ts';
import { loadAnalyticsConfig } from './config.ts';

const config = loadAnalyticsConfig();
const app = createAnalyticsApp({ config });
// Listens first (/healthz answers, /readyz says starting); a failed preparation is logged by runService, which exits 1.
await runService(app.service, { prepare: () => app.prepare() });
