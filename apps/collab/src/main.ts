/**
 * Entry point (`npm run up`, containers): config, the app, signals. Migrates,
 * listens, attaches the y-websocket endpoint, then is ready; SIGTERM closes
 * sockets 1012 after queued updates are stored, then the pools.
 */
import { runService } from '@bulwark/service-kit';
import { createCollabApp } from './app.ts';
import { loadCollabConfig } from './config.ts';

const config = loadCollabConfig();
const app = createCollabApp({ config });
await runService(app.service, { prepare: () => app.prepare() });
