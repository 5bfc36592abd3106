/**
 * Entry point (`npm run up`, containers): config, the app, signals. Listens,
 * migrates, re-wraps data keys under the active KEK, then is ready; SIGTERM
 * drains HTTP, stops the outbox relay, closes the pools.
 */
import { runService } from '@bulwark/service-kit';
import { createSecretsApp } from './app.ts';
import { loadSecretsConfig } from './config.ts';

const config = loadSecretsConfig();
const app = createSecretsApp({ config });
await runService(app.service, { prepare: () => app.prepare() });
