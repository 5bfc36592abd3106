/**
 * Jest global setup for integration tests: reuses running PostgreSQL, Redis and
 * Kafka or starts them through scripts/infra (installing what is missing), then
 * hands their URLs to the test workers through the environment
 * (BULWARK_PG_URL, BULWARK_REDIS_URL, BULWARK_KAFKA_BROKERS, BULWARK_S3_*, BULWARK_CLAMD_*). Servers are left
 * running for the next run; `npm run infra -- down` stops them.
 */
import { ensureInfra } from '../infra/index.ts';

export default async function globalSetup(): Promise<void> {
  // s3 and clamd for apps/files: started once here, not by each test worker (parallel workers would race to build and start them).
  const wanted = (process.env.BULWARK_TEST_INFRA ?? 'postgres,redis,kafka,s3,clamd').split(',').filter(Boolean);
  const env = await ensureInfra(wanted);
  Object.assign(process.env, env);
}
