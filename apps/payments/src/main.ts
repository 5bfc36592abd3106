/**
 * Entry point (`npm run up`, containers): config, the app, signals. Start
 * migrates the schema and provisions the topic, starts the outbox relay and
 * the orphan authorization reconciler, then listens; SIGTERM drains HTTP, stops the relay, closes the producer,
 * the PSP breaker and the pool.
 */
import { runService } from '@bulwark/service-kit';
import { createPaymentsApp } from './app.ts';
import { loadPaymentsConfig } from './config.ts';

const config = loadPaymentsConfig();
const app = createPaymentsApp({ config });
try {
  await app.prepare();
} catch (err) {
  app.service.log.fatal({ err }, 'preparing the database or Kafka failed');
  app.service.log.flush();
  process.exit(1);
}
app.startWorkers();
await runService(app.service);
