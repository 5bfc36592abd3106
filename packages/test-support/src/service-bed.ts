/**
 * One app under test against the shared servers of Jest's global setup: its
 * own PostgreSQL schema (`<name>_<suffix>`), the runtime role's URL (so
 * row-level security applies) with the owner migrating, PORT 0, instances
 * in-process or as child processes, and one cleanup that stops them all,
 * drops the schema and deletes the Redis prefixes the app wrote under.
 * Each app's test/support.ts adds only what is its own (config, fixtures).
 */
import { dirname } from 'node:path';
import { Registry } from 'prom-client';
import { createPool, type DbPool } from '@bulwark/db';
import { pgUrl, redisUrl, suffix } from './env.ts';
import { silent } from './logs.ts';
import { deletePrefix } from './redis.ts';
import { startService, type Service } from './service.ts';
import { runtimeDbUrl, sessionDbUrl, TEST_TENANT } from './tenants.ts';

/** What the bed needs of an app: the service kit's start and stop. */
export interface BedApp {
  start(): Promise<{ url: string }>;
  readonly service: { stop(): Promise<void> };
}

/** Where an instance's log lines go: nowhere (tests assert on responses, metrics and rows). */
export const devNull = { write: () => true } as unknown as NodeJS.WritableStream & { write(line: string): boolean };

export interface ServiceBedOptions<A extends BedApp> {
  /** The app's name: the schema is `<name>_<suffix>`. */
  name: string;
  /** The config variable that names the app's schema (e.g. `CATALOG_SCHEMA`). */
  schemaEnv: string;
  /** Builds an instance from its environment (load the app's config here). */
  create(env: Record<string, string>): A;
  /** The app's own variables, over the bed's defaults (PORT 0, URLs, schema, short shutdown). */
  env?(ids: { id: string; schema: string }): Record<string, string>;
  /** The app's `src/main.ts` (absolute), for spawn(). */
  main?: string;
  /** The tenant rows written through `db` belong to (default TEST_TENANT; null: none, and the owner reads every tenant's rows). */
  tenant?: string | null;
  /** Connections of `db` (default 4). */
  poolMax?: number;
  /** Redis key prefixes the app writes under, deleted at cleanup. */
  redisPrefixes?(ids: { id: string; schema: string }): string[];
  /** How long a spawned instance gets after SIGTERM at stop (default 3 s). */
  stopGraceMs?: number;
}

export interface ServiceBed<A extends BedApp> {
  id: string;
  schema: string;
  /** Owner pool with search_path = the schema (and the bed's tenant, when it has one). */
  db: DbPool;
  /** The environment an instance gets: the bed's defaults, the app's, then `extra`. */
  env(extra?: Record<string, string>): Record<string, string>;
  /** An in-process instance on port 0. */
  start(extra?: Record<string, string>): Promise<{ app: A; url: string }>;
  /** The app's main.ts as a child process on a free port (for SIGKILL). */
  spawn(extra?: Record<string, string>): Promise<Service>;
  /** Runs `fn` at cleanup, after the instances stopped and before the schema goes (last added, first run). */
  onCleanup(fn: () => Promise<unknown>): void;
  cleanup(): Promise<void>;
}

export async function setupServiceBed<A extends BedApp>(options: ServiceBedOptions<A>): Promise<ServiceBed<A>> {
  const id = suffix();
  const schema = `${options.name}_${id}`;
  const ids = { id, schema };
  const tenant = options.tenant === undefined ? TEST_TENANT : options.tenant;
  const db = createPool({
    connectionString: sessionDbUrl(pgUrl(), { searchPath: schema, ...(tenant ? { tenant } : {}) }),
    name: `${options.name}_test_${id}`,
    max: options.poolMax ?? 4,
    registry: new Registry(),
    log: silent,
  });
  const runtimeUrl = await runtimeDbUrl(pgUrl());
  const own = options.env?.(ids) ?? {};
  const apps: A[] = [];
  const children: Service[] = [];
  const hooks: (() => Promise<unknown>)[] = [];
  const env = (extra: Record<string, string> = {}): Record<string, string> => ({
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    DATABASE_URL: runtimeUrl,
    MIGRATION_DATABASE_URL: pgUrl(),
    [options.schemaEnv]: schema,
    SHUTDOWN_TIMEOUT_MS: '2000',
    ...own,
    ...extra,
  });
  return {
    id,
    schema,
    db,
    env,
    async start(extra) {
      const app = options.create(env(extra));
      apps.push(app);
      const { url } = await app.start();
      return { app, url };
    },
    async spawn(extra) {
      if (!options.main) throw new Error(`${options.name}: spawn() needs the bed's main`);
      const { PORT: _port, ...rest } = env(extra);
      const child = await startService({ main: options.main, name: options.name, cwd: dirname(dirname(options.main)), env: rest, stopGraceMs: options.stopGraceMs ?? 3_000 });
      children.push(child);
      return child;
    },
    onCleanup(fn) {
      hooks.push(fn);
    },
    async cleanup() {
      for (const app of apps.reverse()) await app.service.stop().catch(() => undefined);
      for (const child of children) await child.stop().catch(() => undefined);
      for (const hook of hooks.reverse()) await hook().catch(() => undefined);
      await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
      await db.close();
      for (const prefix of options.redisPrefixes?.(ids) ?? []) await deletePrefix(redisUrl(), prefix);
    },
  };
}
