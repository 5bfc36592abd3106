/**
 * Entry point (`npm run up`, containers): config, the app, signals. Start
 * runs migrations and the expiry sweeper, then listens; SIGTERM drains HTTP,
 * stops the sweeper, then closes the pool.
 */
import { runService } from '@bulwark/service-kit';
import { createInventoryApp } from './app.ts';
import { loadInventoryConfig } from './config.ts';

const config = loadInventoryConfig();
const app = createInventoryApp({ config });
try {
  await app.prepare();
} catch (err) {
  app.service.log.fatal({ err }, 'preparing the database or Kafka failed');
  app.service.log.flush();
  process.exit(1);
}
app.startWorkers();
await runService(app.service);
