/**
 * Entry point (`npm run up`, containers): config, the app, signals. Start
 * runs migrations, provisions the topic and replication slot, starts the
 * projectors and the CDC relay, then listens; SIGTERM drains HTTP and stops
 * the workers before the pool closes.
 */
import { runService } from '@bulwark/service-kit';
import { createOrdersApp } from './app.ts';
import { loadOrdersConfig } from './config.ts';

const config = loadOrdersConfig();
const app = createOrdersApp({ config });
try {
  await app.prepare();
} catch (err) {
  app.service.log.fatal({ err }, 'preparing the database or Kafka failed');
  app.service.log.flush();
  process.exit(1);
}
app.workers.start();
await runService(app.service);
