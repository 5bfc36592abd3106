/**
 * Entry point (`npm run up`, containers): config, the app, signals. Listens
 * (/healthz answers, /readyz says starting), migrates and attaches the
 * WebSocket endpoint, then is ready; SIGTERM closes every connection 1001
 * (clients resume on another instance), then Redis, then the pools.
 */
import { runService } from '@bulwark/service-kit';
import { createChatApp } from './app.ts';
import { loadChatConfig } from './config.ts';

const config = loadChatConfig();
const app = createChatApp({ config });
await runService(app.service, { prepare: () => app.prepare() });
