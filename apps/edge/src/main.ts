/**
 * Entry point (`npm run up`, containers): config, the app, signals. Start
 * listens, joins the purge consumer (or goes ready without it after a short
 * wait), then is ready; SIGTERM drains HTTP, then closes the origin pool and
 * the consumer.
 */
import { runService } from '@bulwark/service-kit';
import { createEdgeApp } from './app.ts';
import { loadEdgeConfig } from './config.ts';

const config = loadEdgeConfig();
const app = createEdgeApp({ config });
await runService(app.service, { prepare: () => app.prepare() });
