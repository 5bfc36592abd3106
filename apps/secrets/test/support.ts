/**
 * Test helpers: the real secrets service in-process (port 0) on a schema of
 * its own (random suffix) with a KEK ring in a temporary directory, both
 * removed at cleanup; the real identity (shared per file) issues the service
 * tokens it verifies. `admin` is what the gateway sends for a verified admin
 * of TEST_TENANT; `serviceHeaders` a service's own token and the tenant.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { createPool, type DbPool } from '@bulwark/db';
import { loadConfig } from '@bulwark/service-kit';
import { pgUrl, runtimeDbUrl, silent, suffix, TEST_TENANT } from '@bulwark/test-support';
import { sharedServiceIssuer, type ServiceIssuer } from '../../identity/test/service-issuer.ts';
import { createSecretsApp, type SecretsApp } from '../src/app.ts';
import { secretsConfigSchema } from '../src/config.ts';
import { formatKeyRing, type KeyRing } from '../src/domain/envelope.ts';

export { call, waitFor, TEST_TENANT, OTHER_TENANT, PROBLEM, type Reply } from '@bulwark/test-support';

/** The headers the gateway sets for a verified admin of TEST_TENANT. */
export const ADMIN = { 'x-auth-sub': 'admin-1', 'x-auth-roles': 'admin', 'x-auth-tenant': TEST_TENANT };

export interface TestSecrets {
  schema: string;
  kekFile: string;
  issuer: ServiceIssuer;
  /** Owner (superuser) connections with search_path on the schema. */
  superuser: DbPool;
  /** Starts an app (several may run, e.g. before and after a KEK rotation); stopped at cleanup. */
  start(env?: Record<string, string>): Promise<{ app: SecretsApp; url: string }>;
  /** Replaces the KEK ring file. */
  writeRing(ring: KeyRing): void;
  cleanup(): Promise<void>;
}

export const enc = (name: string) => encodeURIComponent(name);

export async function setupSecrets(): Promise<TestSecrets> {
  const schema = `secrets_${suffix()}`;
  const dir = mkdtempSync(join(tmpdir(), 'secrets-kek-'));
  const kekFile = join(dir, 'kek.json');
  const issuer = await sharedServiceIssuer();
  const runtime = await runtimeDbUrl(pgUrl());
  const apps: SecretsApp[] = [];
  const superuser = createPool({ connectionString: pgUrl(), name: `secrets_test_${schema}`, max: 2, searchPath: [schema], registry: new Registry(), log: silent });
  return {
    schema,
    kekFile,
    issuer,
    superuser,
    async start(env = {}) {
      const config = loadConfig(secretsConfigSchema, {
        HOST: '127.0.0.1',
        PORT: '0',
        LOG_LEVEL: 'warn',
        DATABASE_URL: runtime,
        MIGRATION_DATABASE_URL: pgUrl(),
        SECRETS_SCHEMA: schema,
        SECRETS_KEK_FILE: kekFile,
        SHUTDOWN_TIMEOUT_MS: '2000',
        ...issuer.verifierEnv,
        ...env,
      });
      const app = createSecretsApp({ config, logDestination: { write: () => true } as never });
      apps.push(app);
      const { url } = await app.start();
      return { app, url };
    },
    writeRing(ring) {
      writeFileSync(kekFile, formatKeyRing(ring), { mode: 0o600 });
    },
    async cleanup() {
      for (const app of apps.reverse()) await app.service.stop().catch(() => undefined);
      await superuser.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await superuser.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
