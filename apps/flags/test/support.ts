/**
 * Test helpers: the real flags service on port 0 against the PostgreSQL from
 * Jest global setup, each suite in its own schema (random suffix), removed at
 * cleanup. The service connects as the runtime role (row-level security
 * applies) and migrates as the owner; `call` carries TEST_TENANT as the
 * gateway would, `ADMIN` the verified admin principal it forwards.
 */
import { Registry } from 'prom-client';
import { createPool, type DbPool } from '@bulwark/db';
import { readSse } from '@bulwark/openfeature-provider';
import { loadConfig } from '@bulwark/service-kit';
import { pgUrl, runtimeDbUrl, sessionDbUrl, silent, suffix, tenantCall, TEST_TENANT } from '@bulwark/test-support';
import { createFlagsApp, type FlagsApp } from '../src/app.ts';
import { flagsConfigSchema } from '../src/config.ts';

export type { Reply } from '@bulwark/test-support';

const devNull = { write: () => true } as unknown as NodeJS.WritableStream;

/** The headers the gateway sets for a verified admin. */
export const ADMIN = { 'x-auth-sub': 'admin-1', 'x-auth-roles': 'admin' };
/** A verified customer: may read, not write. */
export const CUSTOMER = { 'x-auth-sub': 'customer-1', 'x-auth-roles': 'orders' };

export const call = tenantCall(TEST_TENANT);

export interface TestFlags {
  schema: string;
  /** Owner pool with search_path = the test schema; rows it writes belong to TEST_TENANT. */
  db: DbPool;
  /** The environment start() configures an app with (also for a child process running src/main.ts). */
  env(extra?: Record<string, string>): Record<string, string>;
  start(env?: Record<string, string>): Promise<{ app: FlagsApp; url: string }>;
  cleanup(): Promise<void>;
}

export async function setupFlags(): Promise<TestFlags> {
  const id = suffix();
  const schema = `flags_${id}`;
  const db = createPool({ connectionString: sessionDbUrl(pgUrl(), { searchPath: schema, tenant: TEST_TENANT }), name: `flags_test_${id}`, max: 4, registry: new Registry(), log: silent });
  const runtimeUrl = await runtimeDbUrl(pgUrl());
  const apps: FlagsApp[] = [];
  const envOf = (extra: Record<string, string> = {}): Record<string, string> => ({
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    DATABASE_URL: runtimeUrl,
    MIGRATION_DATABASE_URL: pgUrl(),
    FLAGS_SCHEMA: schema,
    SHUTDOWN_TIMEOUT_MS: '2000',
    CHANGE_POLL_MS: '200',
    SCHEDULER_INTERVAL_MS: '200',
    ...extra,
  });
  return {
    schema,
    db,
    env: envOf,
    async start(env = {}) {
      const config = loadConfig(flagsConfigSchema, envOf(env));
      const app = createFlagsApp({ config, logDestination: devNull as never });
      apps.push(app);
      const { url } = await app.start();
      return { app, url };
    },
    async cleanup() {
      for (const app of apps.reverse()) await app.service.stop().catch(() => undefined);
      await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await db.close();
    },
  };
}

/** A boolean flag with production and staging; `over` replaces fields. */
export function booleanFlag(over: Record<string, unknown> = {}): Record<string, unknown> {
  const env = { enabled: true, offVariant: 'off', rules: [], fallthrough: { variant: 'on' } };
  return { type: 'boolean', variants: { on: true, off: false }, environments: { production: env, staging: { ...env, enabled: false } }, ...over };
}

/** Reads server-sent events from `url` until `until` returns true for the events so far; aborts the stream after. */
export async function readEvents(url: string, headers: Record<string, string>, until: (events: { id?: string; event: string; data: string }[]) => boolean): Promise<{ id?: string; event: string; data: string }[]> {
  const controller = new AbortController();
  const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal });
  const events: { id?: string; event: string; data: string }[] = [];
  try {
    for await (const e of readSse(res.body!)) {
      events.push(e.id === undefined ? { event: e.event, data: e.data } : { id: e.id, event: e.event, data: e.data });
      if (until(events)) break;
    }
  } finally {
    controller.abort();
  }
  return events;
}
