/**
 * Test support: the shared Redis from Jest global setup, a BullMQ key prefix
 * unique to each test, polling on Redis state (never on elapsed time), and a
 * child-process worker (fixtures/worker.ts) that tests can SIGTERM or that
 * crashes on purpose.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ConnectionOptions } from 'bullmq';
import { redisUrl } from '@bulwark/test-support';

export { redisUrl } from '@bulwark/test-support';

export function connection(): ConnectionOptions {
  return { url: redisUrl(), maxRetriesPerRequest: null };
}

/** A BullMQ prefix unique to one test, e.g. `jobstest-3f2a…`. */
export function testPrefix(): string {
  return `jobstest-${randomUUID()}`;
}

/** Polls `probe` until it returns a value other than undefined/false; fails after `timeoutMs` with `what`. */
export async function waitFor<R>(what: string, probe: () => Promise<R | undefined | false>, timeoutMs = 30_000): Promise<R> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export type FixtureMode = 'slow' | 'hang' | 'crash';

export interface FixtureWorker {
  child: ChildProcess;
  /** Resolves with the id of the first job whose handler started. */
  started: Promise<string>;
  /** Resolves with the exit code (null when killed by a signal) and everything printed. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string }>;
}

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../../../..');

/** Starts fixtures/worker.ts in its own Node process (sources through the bulwark-source condition). */
export function startFixtureWorker(mode: FixtureMode, env: { prefix: string; queue: string; [key: string]: string }): FixtureWorker {
  const child = spawn(path.join(repoRoot, 'scripts/run'), ['node', '--conditions=bulwark-source', path.join(here, '../fixtures/worker.ts')], {
    env: {
      ...process.env,
      JOBS_FIXTURE_MODE: mode,
      JOBS_FIXTURE_PREFIX: env.prefix,
      JOBS_FIXTURE_QUEUE: env.queue,
      ...Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('JOBS_FIXTURE_'))),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let stdout = '';
  let resolveStarted: (id: string) => void = () => {};
  const started = new Promise<string>((resolve) => {
    resolveStarted = resolve;
  });
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    stdout += chunk;
    const m = /^started (\S+)$/m.exec(stdout);
    if (m) resolveStarted(m[1]!);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal, stdout }));
  });
  return { child, started, exited };
}
