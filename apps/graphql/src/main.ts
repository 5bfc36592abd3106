/**
 * Entry point (`npm run up`, containers): config, the app, signals. Listens,
 * loads the supergraph, then is ready; SIGTERM drains HTTP and stops the gateway.
 */
import { runService } from '@bulwark/service-kit';
import { createGraphqlApp } from './app.ts';
import { loadGraphqlConfig } from './config.ts';

const config = loadGraphqlConfig();
const app = createGraphqlApp({ config });
await runService(app.service, { prepare: () => app.prepare() });
