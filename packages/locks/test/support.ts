/**
 * Test helpers: a schema per test on the shared PostgreSQL (fence sequence
 * plus the protected tables), three private redis-servers for Redlock (each
 * a RedisProcess a test may kill or restart), and child processes that hold
 * locks. Nothing here fakes PostgreSQL or Redis.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { Redis } from 'ioredis';
import { createPool, type DbPool } from '@bulwark/db';
import { pgUrl, RedisProcess, silent, suffix } from '@bulwark/test-support';
import { migrateLocks } from '../src/index.ts';

export interface TestDb {
  schema: string;
  pool: DbPool;
  cleanup(): Promise<void>;
}

/**
 * A schema with the fence sequence and two one-row resources: `fenced`
 * (each write names its token and is refused below the highest seen) and
 * `plain` (last write wins), plus `counter` and `grants` (the token that
 * wrote each value) for the contention tests.
 */
export async function setupDb(): Promise<TestDb> {
  const schema = `locks_${suffix()}`;
  const pool = createPool({ connectionString: pgUrl(), name: `locks_${schema}`, max: 20, registry: new Registry(), log: silent, searchPath: [schema] });
  await pool.query(`CREATE SCHEMA "${schema}"`);
  await migrateLocks({ pool, schema });
  await pool.query(`CREATE TABLE "${schema}".fenced (id int PRIMARY KEY, value text NOT NULL, token bigint NOT NULL)`);
  await pool.query(`CREATE TABLE "${schema}".plain (id int PRIMARY KEY, value text NOT NULL)`);
  await pool.query(`CREATE TABLE "${schema}".counter (id int PRIMARY KEY, n int NOT NULL)`);
  await pool.query(`CREATE TABLE "${schema}".grants (n int PRIMARY KEY, token bigint NOT NULL)`);
  await pool.query(`INSERT INTO "${schema}".fenced VALUES (1, 'initial', 0); INSERT INTO "${schema}".plain VALUES (1, 'initial'); INSERT INTO "${schema}".counter VALUES (1, 0)`);
  return {
    schema,
    pool,
    async cleanup() {
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await pool.close();
    },
  };
}

/** A client that fails at once while its server is down (no offline queue, no retries), resolved once ready. */
export async function connectRedis(url: string): Promise<Redis> {
  const client = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => 50 });
  client.on('error', () => undefined);
  if (client.status !== 'ready') await once(client, 'ready');
  return client;
}

export interface RedisTrio {
  servers: RedisProcess[];
  clients: Redis[];
  urls(): string[];
  close(): Promise<void>;
}

/** Three independent redis-servers and one client each. */
export async function startRedisTrio(): Promise<RedisTrio> {
  const servers = await Promise.all([RedisProcess.start(), RedisProcess.start(), RedisProcess.start()]);
  const clients = await Promise.all(servers.map((s) => connectRedis(s.url)));
  return {
    servers,
    clients,
    urls: () => servers.map((s) => s.url),
    async close() {
      for (const c of clients) c.disconnect();
      await Promise.all(servers.map((s) => s.stop()));
    },
  };
}

export interface Child {
  process: ChildProcess;
  /** Resolves with the first stdout line matching `pattern`'s first group (lines already seen count). */
  line(pattern: RegExp): Promise<string>;
  send(line: string): void;
  exited: Promise<number | null>;
  kill(): Promise<void>;
}

/** Runs `test/fixtures/<name>.ts` in its own Node process with `env` added. */
export function startChild(name: string, env: Record<string, string>): Child {
  const script = fileURLToPath(new URL(`./fixtures/${name}.ts`, import.meta.url));
  const child = spawn(process.execPath, ['--conditions=bulwark-source', '--no-warnings', script], {
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let out = '';
  const waiters: { pattern: RegExp; resolve: (s: string) => void }[] = [];
  const scan = (): void => {
    for (const w of [...waiters]) {
      const m = w.pattern.exec(out);
      if (m) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m[1] ?? m[0]);
      }
    }
  };
  child.stdout!.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    scan();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    process: child,
    line: (pattern) =>
      new Promise<string>((resolve, reject) => {
        waiters.push({ pattern, resolve });
        scan();
        void exited.then((code) => reject(new Error(`child ${name} exited (${code}) before printing ${pattern}; output: ${out}`)));
      }),
    send: (line) => void child.stdin!.write(`${line}\n`),
    exited,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGCONT');
        child.kill('SIGKILL');
      }
      await exited;
    },
  };
}
