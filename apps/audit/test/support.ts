/**
 * Test helpers: the audit service in-process (port 0) on a schema of its
 * own (random suffix) with a signing key in a temporary directory, both
 * removed at cleanup. The service connects as the runtime role and migrates
 * as the owner; `appendSample` appends through the runtime role like the
 * consumer does; `superuser` is the owner's pool for tampering (triggers off
 * through session_replication_role, which only a superuser may set).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { createPool, withSystemContext, withTransaction, type DbPool } from '@bulwark/db';
import { pgUrl, runtimeDbUrl, silent, suffix, TEST_TENANT } from '@bulwark/test-support';
import { createAuditApp, type AuditApp } from '../src/app.ts';
import { auditConfigSchema } from '../src/config.ts';
import { appendEvents, type AuditEvent } from '../src/domain/append.ts';
import { loadConfig } from '@bulwark/service-kit';

export { silent, waitFor, TEST_TENANT, OTHER_TENANT, call, type Reply } from '@bulwark/test-support';

/** The headers the gateway sets for a verified auditor of TEST_TENANT. */
export const AUDITOR = { 'x-auth-sub': 'auditor-1', 'x-auth-roles': 'auditor', 'x-auth-tenant': TEST_TENANT };

export interface TestAudit {
  schema: string;
  keyFile: string;
  app: AuditApp;
  url: string;
  /** Owner (superuser) connections with search_path on the schema. */
  superuser: DbPool;
  /** Appends `n` sample events through the runtime role; returns their seqs. */
  appendSample(n: number, tenant?: string): Promise<number[]>;
  cleanup(): Promise<void>;
}

export function sampleEvent(i: number, tenant: string = TEST_TENANT): AuditEvent {
  return {
    eventId: `evt-${suffix()}-${i}`,
    type: 'com.bulwark.identity.login-succeeded',
    eventClass: 'authentication',
    source: '/bulwark/identity',
    subject: `acct-${i}`,
    tenant,
    actor: `acct-${i}`,
    occurredAt: new Date(Date.UTC(2026, 11, 7, 12, 0, i % 60)).toISOString(),
    data: { accountId: `acct-${i}`, tenant, method: 'password', n: i },
  };
}

export async function setupAudit(env: Record<string, string> = {}): Promise<TestAudit> {
  const schema = `audit_${suffix()}`;
  const dir = mkdtempSync(join(tmpdir(), 'audit-key-'));
  const keyFile = join(dir, 'signing-key.pem');
  const config = loadConfig(auditConfigSchema, {
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'warn',
    DATABASE_URL: await runtimeDbUrl(pgUrl()),
    MIGRATION_DATABASE_URL: pgUrl(),
    AUDIT_SCHEMA: schema,
    AUDIT_SIGNING_KEY_FILE: keyFile,
    AUDIT_TREE_HEAD_INTERVAL_MS: '3600000',
    EVENTS_ENABLED: 'false',
    ...env,
  });
  const app = createAuditApp({ config, logDestination: { write: () => true } as never });
  const started = await app.start();
  const superuser = createPool({ connectionString: pgUrl(), name: `audit_test_${schema}`, max: 4, searchPath: [schema], registry: new Registry(), log: silent });
  let n = 0;
  return {
    schema,
    keyFile,
    app,
    url: started.url,
    superuser,
    async appendSample(count, tenant) {
      const events = Array.from({ length: count }, () => sampleEvent(n++, tenant));
      const rows = await withSystemContext(app.pool, 'audit.test', () => withTransaction(app.pool, (tx) => appendEvents(tx, app.signer, events)));
      return rows.map((r) => r.seq);
    },
    async cleanup() {
      await app.service.stop();
      await superuser.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await superuser.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
