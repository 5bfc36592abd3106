/**
 * Per-test queue and workers on a fresh prefix, torn down (workers stopped,
 * every queue obliterated) by `teardown()` in afterEach.
 */
import type { Registry } from 'prom-client';
import { JobMetrics, JobQueue, JobWorker, type JobHandler, type JobWorkerOptions, type QueueDefinition } from '../../src/index.ts';
import { connection, testPrefix } from './jobs.ts';

const open: { queue: JobQueue<unknown>; workers: JobWorker<unknown>[] }[] = [];

export function setupQueue<T>(definition: Partial<QueueDefinition> = {}, registry?: Registry) {
  const prefix = testPrefix();
  const metrics = registry ? new JobMetrics(registry) : undefined;
  const queue = new JobQueue<T>({ name: 'mail', backoff: { baseMs: 10, capMs: 50 }, ...definition }, { connection: connection(), prefix, ...(metrics ? { metrics } : {}) });
  const entry = { queue: queue as JobQueue<unknown>, workers: [] as JobWorker<unknown>[] };
  open.push(entry);
  const work = (handler: JobHandler<T>, options: Partial<JobWorkerOptions> = {}) => {
    const worker = new JobWorker<T>(queue.definition, handler, { connection: connection(), prefix, ...(metrics ? { metrics } : {}), ...options });
    entry.workers.push(worker as JobWorker<unknown>);
    return worker;
  };
  return { queue, work, prefix, metrics };
}

export async function teardown(): Promise<void> {
  for (const { queue, workers } of open.splice(0)) {
    for (const w of workers) await w.stop({ deadlineMs: 1000 });
    await queue.obliterate();
    await queue.close();
  }
}
