/**
 * Test support: clients for the shared Redis (per-test key prefix, cleanup by
 * SCAN) and private redis-server processes on random free ports that a test
 * may SIGSTOP, SIGCONT, FLUSH or kill without disturbing the shared one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { freePort } from '@bulwark/test-support';

export function sharedRedisUrl(): string {
  const url = process.env.BULWARK_REDIS_URL;
  if (!url) throw new Error('BULWARK_REDIS_URL is not set; run through `npm test` so Jest global setup starts Redis');
  return url;
}

/** A key prefix unique to one test, e.g. `rltest-3f2a…`. */
export function testPrefix(): string {
  return `rltest-${randomUUID()}`;
}

/** Deletes every key under `prefix:`. */
export async function deletePrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
}

/** A private redis-server for fault injection. */
export class RedisProcess {
  readonly port: number;
  readonly url: string;
  readonly #child: ChildProcess;

  private constructor(port: number, child: ChildProcess) {
    this.port = port;
    this.url = `redis://127.0.0.1:${port}`;
    this.#child = child;
  }

  static async start(): Promise<RedisProcess> {
    const port = await freePort();
    const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    const server = new RedisProcess(port, child);
    const probe = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          await probe.connect();
          await probe.ping();
          return server;
        } catch (err) {
          if (attempt >= 100 || child.exitCode !== null) throw new Error(`redis-server on port ${port} did not start`, { cause: err });
          probe.disconnect();
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    } finally {
      probe.disconnect();
    }
  }

  /** SIGSTOP: the server keeps its sockets but answers nothing (a slow/hung Redis). */
  pause(): void {
    this.#child.kill('SIGSTOP');
  }

  resume(): void {
    this.#child.kill('SIGCONT');
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.#child.once('exit', resolve));
    this.#child.kill('SIGCONT');
    this.#child.kill('SIGKILL');
    await exited;
  }
}

/** A client that gives up fast, for private servers that tests stop. */
export function connect(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: true, retryStrategy: (times) => Math.min(times * 20, 200) });
}
