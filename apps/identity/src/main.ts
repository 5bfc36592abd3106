/**
 * Entry point (`npm run up`, containers): config, the app, signals. Start
 * migrates, seeds tenants and reads the key ring, then listens; SIGTERM
 * drains HTTP, stops housekeeping, drains mail, then closes Redis and the pool.
 */
import { runService } from '@bulwark/service-kit';
import { createIdentityApp } from './app.ts';
import { loadIdentityConfig } from './config.ts';

const config = loadIdentityConfig();
const app = createIdentityApp({ config });
try {
  await app.prepare();
} catch (err) {
  app.service.log.fatal({ err }, 'preparing the database or the key ring failed');
  app.service.log.flush();
  process.exit(1);
}
app.housekeeping.start();
await runService(app.service);
