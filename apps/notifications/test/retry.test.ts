/**
 * Webhook deliveries through @bulwark/jobs against real Redis and a real
 * receiving HTTP server: retries until success exactly once, and dead-letter
 * after the attempts are exhausted. Short backoff config keeps it quick.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { JobQueue, JobWorker, listDeadLetters } from '@bulwark/jobs';
import { redisUrl, startHttpServer, type HttpServer } from '@bulwark/test-support';
import { deliver, type DeliveryResult } from '../src/index.ts';

const connection = { url: redisUrl(), maxRetriesPerRequest: null };
const prefix = `notif-test-${randomUUID().slice(0, 8)}`;

let server: HttpServer;
let base: string;
const failuresLeft = new Map<string, number>();
const successes = new Map<string, number>();

beforeAll(async () => {
  server = await startHttpServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const key = req.url!;
      const left = failuresLeft.get(key) ?? 0;
      if (left !== 0) {
        failuresLeft.set(key, left - 1);
        res.writeHead(500).end('boom');
        return;
      }
      successes.set(key, (successes.get(key) ?? 0) + 1);
      res.writeHead(204).end();
    });
  });
  base = server.url;
});

afterAll(async () => {
  await server.close();
});

interface Attempt extends DeliveryResult {
  attempt: number;
  at: number;
}

async function runDeliveries(path: string, attempts: number): Promise<{ log: Attempt[]; queue: JobQueue<{ path: string }> }> {
  const queue = new JobQueue<{ path: string }>({ name: `wh-${randomUUID().slice(0, 8)}`, attempts, backoff: { baseMs: 20, capMs: 100 } }, { connection, prefix });
  const log: Attempt[] = [];
  let settle: () => void = () => {};
  const settled = new Promise<void>((r) => {
    settle = r;
  });
  const worker = new JobWorker<{ path: string }>(
    queue.definition,
    async (ctx) => {
      const result = await deliver({ url: base + ctx.data.path, body: '{"type":"order.confirmed"}', secrets: ['s1'], eventId: ctx.id, eventType: 'order.confirmed', ssrf: { allowLoopback: true } });
      log.push({ ...result, attempt: ctx.attempt, at: Date.now() });
      if (result.ok || ctx.attempt >= attempts) settle();
      if (!result.ok) throw new Error(`receiver answered ${result.status ?? result.error}`);
    },
    { connection, prefix, concurrency: 1 },
  );
  await worker.start();
  await queue.enqueue('deliver', { path });
  await settled;
  await worker.stop();
  return { log, queue };
}

describe('webhook retries through @bulwark/jobs', () => {
  it('a receiver failing 5 times then succeeding gets exactly one successful delivery, every attempt logged', async () => {
    const path = `/flaky-${randomUUID()}`;
    failuresLeft.set(path, 5);
    const { log, queue } = await runDeliveries(path, 8);
    expect(log.map((a) => [a.attempt, a.status])).toEqual([[1, 500], [2, 500], [3, 500], [4, 500], [5, 500], [6, 204]]);
    expect(successes.get(path)).toBe(1);
    expect(log.every((a) => a.latencyMs >= 0)).toBe(true);
    expect(await listDeadLetters(queue)).toHaveLength(0);
    await queue.obliterate();
    await queue.close();
  });

  it('a receiver that always fails ends in the dead-letter queue after the attempts', async () => {
    const path = `/down-${randomUUID()}`;
    failuresLeft.set(path, -1);
    const { log, queue } = await runDeliveries(path, 3);
    expect(log.map((a) => a.attempt)).toEqual([1, 2, 3]);
    expect(successes.get(path)).toBeUndefined();
    let dead = await listDeadLetters<{ path: string }>(queue);
    for (let i = 0; dead.length === 0 && i < 100; i++) {
      await new Promise((r) => setTimeout(r, 50));
      dead = await listDeadLetters<{ path: string }>(queue);
    }
    expect(dead).toHaveLength(1);
    expect(dead[0]!.data).toEqual({ path });
    await queue.obliterate();
    await queue.close();
  });
});
