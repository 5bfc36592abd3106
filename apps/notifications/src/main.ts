/**
 * Entry point (`npm run up`, containers): config, the app, signals. Start
 * listens at once (/healthz answers; /readyz and the API say "starting"),
 * migrates the schema, starts the workers and the dispatcher, then is ready
 * while the Kafka consumer joins its group (exit 1 if it cannot start);
 * SIGTERM drains HTTP, stops the consumer and the dispatcher, lets in-flight
 * jobs finish (or hands them back to wait at the deadline), then closes the
 * queues and the pool.
 */
import { runService } from '@bulwark/service-kit';
import { createNotificationsApp } from './app.ts';
import { loadNotificationsConfig } from './config.ts';

const config = loadNotificationsConfig();
const app = createNotificationsApp({ config });
await runService(app.service, {
  // A failure here (database, queues, Kafka topics) is logged by runService, which exits 1.
  prepare: async () => {
    await app.startup();
    app.consumerStarted.catch(() => {
      // As when the start awaited it: a consumer that cannot start is a failed process, restarted by its supervisor.
      app.service.log.fatal('the Kafka consumer of domain events could not start');
      app.service.log.flush();
      process.exit(1);
    });
  },
});
