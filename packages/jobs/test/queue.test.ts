import { afterEach, describe, expect, it } from '@jest/globals';
import { JobQueue, JobWorker, type JobHandler, type Priority } from '../src/index.ts';
import { connection, testPrefix, waitFor } from './support/jobs.ts';

const open: { queue: JobQueue<unknown>; workers: JobWorker<unknown>[] }[] = [];

function setup<T>(name = 'mail') {
  const prefix = testPrefix();
  const queue = new JobQueue<T>({ name, backoff: { baseMs: 10, capMs: 50 } }, { connection: connection(), prefix });
  const entry = { queue: queue as JobQueue<unknown>, workers: [] as JobWorker<unknown>[] };
  open.push(entry);
  const work = (handler: JobHandler<T>) => {
    const worker = new JobWorker<T>(queue.definition, handler, { connection: connection(), prefix });
    entry.workers.push(worker as JobWorker<unknown>);
    return worker;
  };
  return { queue, work };
}

afterEach(async () => {
  for (const { queue, workers } of open.splice(0)) {
    for (const w of workers) await w.stop({ deadlineMs: 1000 });
    await queue.obliterate();
    await queue.close();
  }
});

describe('JobQueue', () => {
  it('when jobs of mixed priorities wait, then a worker runs them highest priority first and FIFO within a priority', async () => {
    const { queue, work } = setup<{ n: string }>();
    const plan: [string, Priority][] = [
      ['low-1', 'low'],
      ['normal-1', 'normal'],
      ['critical-1', 'critical'],
      ['high-1', 'high'],
      ['normal-2', 'normal'],
      ['critical-2', 'critical'],
      ['low-2', 'low'],
    ];
    for (const [n, priority] of plan) await queue.enqueue('send', { n }, { priority });
    const order: string[] = [];
    work(async (job) => {
      order.push(job.data.n);
    });
    await waitFor('all jobs processed', async () => order.length === plan.length);
    expect(order).toEqual(['critical-1', 'critical-2', 'high-1', 'normal-1', 'normal-2', 'low-1', 'low-2']);
  });

  it('when a job is delayed, then it stays delayed while undelayed jobs run, and runs no earlier than its delay', async () => {
    const { queue, work } = setup<{ n: string }>();
    const far = await queue.enqueue('send', { n: 'far' }, { delayMs: 600_000 });
    const near = await queue.enqueue('send', { n: 'near' }, { delayMs: 300 });
    await queue.enqueue('send', { n: 'now' });
    const order: string[] = [];
    work(async (job) => {
      order.push(job.data.n);
    });
    await waitFor('near job processed', async () => order.includes('near'));
    expect(order).toEqual(['now', 'near']);
    expect(await far.job!.getState()).toBe('delayed');
    const nearJob = (await queue.partitionQueues.get('mail')!.getJob(near.id))!;
    expect(nearJob.processedOn!).toBeGreaterThanOrEqual(nearJob.timestamp + 300);
  });

  it('when the same idempotency key is enqueued twice, then the second call returns the existing job and adds none', async () => {
    const { queue } = setup<{ to: string }>();
    const first = await queue.enqueue('send', { to: 'a@example.com' }, { idempotencyKey: 'notification:42' });
    const second = await queue.enqueue('send', { to: 'b@example.com' }, { idempotencyKey: 'notification:42' });
    const other = await queue.enqueue('send', { to: 'c@example.com' }, { idempotencyKey: 'notification:43' });
    expect(first.created).toBe(true);
    expect(second.created).toBe(false);
    expect(second.id).toBe(first.id);
    expect(second.job!.data).toEqual({ to: 'a@example.com' });
    expect(other.id).not.toBe(first.id);
    expect(await queue.waitingCount()).toBe(2);
  });

  it('when an idempotent job has completed and is still retained, then enqueueing its key again does not run it twice', async () => {
    const { queue, work } = setup<{ to: string }>();
    let runs = 0;
    work(async () => {
      runs++;
    });
    const first = await queue.enqueue('send', { to: 'a@example.com' }, { idempotencyKey: 'k' });
    await waitFor('job completed', async () => (await first.job!.getState()) === 'completed');
    const again = await queue.enqueue('send', { to: 'a@example.com' }, { idempotencyKey: 'k' });
    expect(again.created).toBe(false);
    expect(await again.job!.getState()).toBe('completed');
    expect(runs).toBe(1);
  });

  it('when a provider is not declared, then enqueue throws JOBS_PROVIDER_UNKNOWN', async () => {
    const { queue } = setup();
    await expect(queue.enqueue('send', {}, { provider: 'nope' })).rejects.toMatchObject({ code: 'JOBS_PROVIDER_UNKNOWN' });
  });
});
