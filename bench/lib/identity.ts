/**
 * The identity service in the bench's process, on a throwaway schema and
 * rate-limit prefix of the local PostgreSQL and Redis (started when missing),
 * with mail dropped: what the identity benches measure runs against it.
 */
import { randomBytes } from 'node:crypto';
import { Registry } from 'prom-client';
import { createPool } from '@bulwark/db';
import { loadConfig } from '@bulwark/service-kit';
import { runtimeDbUrl, silent } from '@bulwark/test-support';
import { createIdentityApp, type IdentityApp } from '../../apps/identity/src/app.ts';
import { identityConfigSchema, type IdentityConfig } from '../../apps/identity/src/config.ts';
import { ensureInfra } from '../../scripts/infra/index.ts';

export interface BenchIdentity {
  app: IdentityApp;
  url: string;
  config: IdentityConfig;
  /** Stops the service and drops its schema. */
  stop(): Promise<void>;
}

/** Starts identity as `name` (its schema and prefix) with `env` over the bench defaults (tenant `bench`, 16 pooled connections). */
export async function startBenchIdentity(name: string, env: Record<string, string>): Promise<BenchIdentity> {
  const infra = await ensureInfra(['postgres', 'redis']);
  const schema = `bench_${name.replaceAll('-', '_')}_${process.pid}`;
  const config = loadConfig(identityConfigSchema, {
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'error',
    DATABASE_URL: await runtimeDbUrl(infra.BULWARK_PG_URL!),
    MIGRATION_DATABASE_URL: infra.BULWARK_PG_URL,
    REDIS_URL: infra.BULWARK_REDIS_URL,
    IDENTITY_SCHEMA: schema,
    RATE_LIMIT_PREFIX: `rl:bench-${name}-${process.pid}`,
    KEY_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
    TENANTS: 'bench:Bench',
    DB_POOL_MAX: '16',
    ...env,
  });
  const app = createIdentityApp({ config, logDestination: { write: () => true } as never, mailer: { send: async () => undefined } });
  const { url } = await app.start();
  return {
    app,
    url,
    config,
    async stop() {
      await app.service.stop();
      const admin = createPool({ connectionString: config.MIGRATION_DATABASE_URL, name: `bench-${name}-cleanup`, max: 1, registry: new Registry(), log: silent });
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await admin.close();
    },
  };
}
