/**
 * Entry point (`npm run up`, containers): config, the app, signals. Start
 * migrates the schema, starts the workers, the dispatcher and the Kafka
 * consumer, then listens; SIGTERM drains HTTP, stops the consumer and the
 * dispatcher, lets in-flight jobs finish (or hands them back to wait at the
 * deadline), then closes the queues and the pool.
 */
import { runService } from '@bulwark/service-kit';
import { createNotificationsApp } from './app.ts';
import { loadNotificationsConfig } from './config.ts';

const config = loadNotificationsConfig();
const app = createNotificationsApp({ config });
try {
  await app.prepare();
  await app.startWorkers();
} catch (err) {
  app.service.log.fatal({ err }, 'preparing the database, the queues or Kafka failed');
  app.service.log.flush();
  process.exit(1);
}
await runService(app.service);
