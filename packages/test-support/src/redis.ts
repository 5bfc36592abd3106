/**
 * Redis in tests: removing a test's keys from the shared server, and a
 * private redis-server a test may pause (SIGSTOP), resume or kill without
 * disturbing the shared one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { freePort } from './port.ts';

/**
 * Deletes every key that starts with `prefix` (SCAN, not KEYS). `redis` is a
 * client (left open) or a URL (connected and closed here).
 */
export async function deletePrefix(redis: Redis | string, prefix: string): Promise<void> {
  const client = typeof redis === 'string' ? new Redis(redis) : redis;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await client.del(...keys);
    } while (cursor !== '0');
  } finally {
    if (typeof redis === 'string') client.disconnect();
  }
}

/** A private redis-server (no persistence) on 127.0.0.1. */
export class RedisProcess {
  readonly port: number;
  readonly url: string;
  readonly #child: ChildProcess;

  private constructor(port: number, child: ChildProcess) {
    this.port = port;
    this.url = `redis://127.0.0.1:${port}`;
    this.#child = child;
  }

  /** Starts one on `port` (a free one by default) and resolves once it answers PING. */
  static async start(port?: number): Promise<RedisProcess> {
    const p = port ?? (await freePort());
    const child = spawn('redis-server', ['--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    const server = new RedisProcess(p, child);
    for (let attempt = 0; ; attempt++) {
      const probe = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      probe.on('error', () => undefined);
      try {
        await probe.connect();
        await probe.ping();
        return server;
      } catch (err) {
        if (attempt >= 100 || child.exitCode !== null) throw new Error(`redis-server on port ${p} did not start`, { cause: err });
        await new Promise((r) => setTimeout(r, 50));
      } finally {
        probe.disconnect();
      }
    }
  }

  /** SIGSTOP: the server keeps its sockets but answers nothing (a slow or hung Redis). */
  pause(): void {
    this.#child.kill('SIGSTOP');
  }

  resume(): void {
    this.#child.kill('SIGCONT');
  }

  /** Kills it (SIGKILL, resumed first if paused) and resolves once it has exited. */
  async stop(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.#child.once('exit', resolve));
    this.#child.kill('SIGCONT');
    this.#child.kill('SIGKILL');
    await exited;
  }
}
