/**
 * Jest global setup for integration tests: reuses running PostgreSQL, Redis and
 * Kafka or starts them through scripts/infra (installing what is missing), then
 * hands their URLs to the test workers through the environment
 * (BULWARK_PG_URL, BULWARK_REDIS_URL, BULWARK_KAFKA_BROKERS). Servers are left
 * running for the next run; `npm run infra -- down` stops them.
 */
import { ensureInfra } from '../infra/index.ts';

export default async function globalSetup(): Promise<void> {
  const wanted = (process.env.BULWARK_TEST_INFRA ?? 'postgres,redis,kafka').split(',').filter(Boolean);
  const env = await ensureInfra(wanted);
  Object.assign(process.env, env);
}
