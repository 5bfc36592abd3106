/**
 * What an owner of jobs needs to keep its own records and the queue in step:
 * a hold that consumes no attempt, a hook told of every dead letter, a
 * reconciliation primitive (ensureJob) and moving a delayed job's run time.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import { idempotentJobId, listDeadLetters, type DeadLetter } from '../src/index.ts';
import { waitFor } from './support/jobs.ts';
import { setupQueue, teardown } from './support/setup.ts';

afterEach(teardown);

describe('holds', () => {
  it('when a handler holds its job twice, then the job runs again without consuming an attempt: attempt stays 1, attemptsMade counts only the real run', async () => {
    const registry = new Registry();
    const { queue, work } = setupQueue<{ n: number }>({ attempts: 2, backoff: { baseMs: 10_000, capMs: 10_000 } }, registry);
    const seen: number[] = [];
    work(async (job) => {
      seen.push(job.attempt);
      if (seen.length <= 2) throw await job.holdUntil(Date.now() + 20);
      return 'sent';
    });
    const { id } = await queue.enqueue('send', { n: 1 });
    const partition = queue.partitionQueues.get('mail')!;
    await waitFor('job completed', async () => (await (await partition.getJob(id))?.getState()) === 'completed');
    // A failure would have waited out a 10 s backoff and the attempts (2) would have run out at the second hold.
    expect(seen).toEqual([1, 1, 1]);
    const job = (await partition.getJob(id))!;
    expect(job.attemptsMade).toBe(1);
    expect(job.returnvalue).toBe('sent');
    const held = await registry.getSingleMetric('bulwark_jobs_held_total')!.get();
    expect(held.values.find((v) => v.labels.queue === 'mail')?.value).toBe(2);
    const failed = await registry.getSingleMetric('bulwark_jobs_failed_total')!.get();
    expect(failed.values.reduce((n, v) => n + v.value, 0)).toBe(0);
  });
});

describe('dead-letter hook', () => {
  it('when the hook fails, then the job stays in the failed set and the next start dead-letters it and calls the hook again', async () => {
    const { queue, work } = setupQueue<{ to: string }>({ attempts: 1 });
    const told: DeadLetter[] = [];
    let hookUp = false;
    const errors: Error[] = [];
    const first = work(
      async () => {
        throw new Error('smtp down');
      },
      {
        onDeadLetter: async () => {
          throw new Error('database away');
        },
        onError: (e) => errors.push(e),
      },
    );
    const { id } = await queue.enqueue('send', { to: 'a@example.com' });
    const partition = queue.partitionQueues.get('mail')!;
    await waitFor('the hook failed', async () => errors.some((e) => e.message === 'database away'));
    expect(await (await partition.getJob(id))!.getState()).toBe('failed'); // not removed: the owner was not told
    await first.stop();

    hookUp = true;
    work(async () => 'unused', {
      onDeadLetter: async (dl) => {
        if (hookUp) told.push(dl);
      },
    });
    await waitFor('the sweep told the owner', async () => told.length === 1);
    expect(told[0]).toMatchObject({ id, reason: 'exhausted', failedReason: 'smtp down', data: { to: 'a@example.com' } });
    await waitFor('the failed copy removed', async () => (await partition.getJob(id)) === undefined);
    expect((await listDeadLetters(queue)).map((d) => d.id)).toEqual([id]);
  });
});

describe('periodic sweep', () => {
  it('when the hook fails while the worker keeps running, then its next periodic sweep dead-letters the job and calls the hook again, without a restart', async () => {
    const { queue, work } = setupQueue<{ to: string }>({ attempts: 1 });
    const told: DeadLetter[] = [];
    let hookCalls = 0;
    const errors: Error[] = [];
    work(
      async () => {
        throw new Error('smtp down');
      },
      {
        sweepIntervalMs: 200,
        onDeadLetter: async (dl) => {
          if (++hookCalls === 1) throw new Error('database away');
          told.push(dl);
        },
        onError: (e) => errors.push(e),
      },
    );
    const { id } = await queue.enqueue('send', { to: 'a@example.com' });
    const partition = queue.partitionQueues.get('mail')!;
    await waitFor('the owner told by a later sweep', async () => told.length === 1);
    expect(errors.map((e) => e.message)).toContain('database away'); // the first telling failed
    expect(told[0]).toMatchObject({ id, reason: 'exhausted', failedReason: 'smtp down' });
    await waitFor('the failed copy removed', async () => (await partition.getJob(id)) === undefined);
    expect((await listDeadLetters(queue)).map((d) => d.id)).toEqual([id]);
  });
});

describe('ensureJob (reconciliation)', () => {
  it('when a key has no job, a live job, a completed job or a dead letter, then ensureJob creates, leaves, re-creates or reports it', async () => {
    const { queue, work } = setupQueue<{ n: number }>({ attempts: 1 });
    const partition = queue.partitionQueues.get('mail')!;
    expect((await queue.ensureJob('send', { n: 1 }, { idempotencyKey: 'row:1' })).outcome).toBe('created');
    expect((await queue.ensureJob('send', { n: 1 }, { idempotencyKey: 'row:1' })).outcome).toBe('live');
    await queue.enqueue('send', { n: 2 }, { idempotencyKey: 'row:2', delayMs: 60_000 });
    expect((await queue.ensureJob('send', { n: 2 }, { idempotencyKey: 'row:2' })).outcome).toBe('live');

    const runs: number[] = [];
    work(async (job) => {
      runs.push(job.data.n);
      if (job.data.n === 3) throw new Error('poisoned payload');
    });
    await waitFor('row 1 done', async () => (await (await partition.getJob(idempotentJobId('row:1')))?.getState()) === 'completed');
    // The owner's row still needs the work although its job completed (e.g. the row was reset): a new run.
    expect((await queue.ensureJob('send', { n: 1 }, { idempotencyKey: 'row:1' })).outcome).toBe('created');
    await waitFor('row 1 ran again', async () => runs.filter((n) => n === 1).length === 2);

    await queue.enqueue('send', { n: 3 }, { idempotencyKey: 'row:3' });
    await waitFor('row 3 dead-lettered', async () => (await listDeadLetters(queue)).length === 1);
    const dead = await queue.ensureJob('send', { n: 3 }, { idempotencyKey: 'row:3' });
    expect(dead).toMatchObject({ outcome: 'dead-lettered', deadLetter: { reason: 'exhausted', failedReason: 'poisoned payload' } });
    expect(await partition.getJob(idempotentJobId('row:3'))).toBeUndefined(); // not re-added
  });

  it('when a delayed job is rescheduled to now, then it runs without waiting out its delay; a job that is not delayed reports false', async () => {
    const { queue, work } = setupQueue<{ n: number }>();
    const partition = queue.partitionQueues.get('mail')!;
    const { id } = await queue.enqueue('send', { n: 1 }, { idempotencyKey: 'later', delayMs: 3_600_000 });
    const ran: string[] = [];
    work(async (job) => {
      ran.push(job.id);
    });
    expect(await (await partition.getJob(id))!.getState()).toBe('delayed');
    expect(await queue.reschedule('later', 0)).toBe(true);
    await waitFor('the delayed job ran', async () => (await (await partition.getJob(id))!.getState()) === 'completed');
    expect(ran).toEqual([id]);
    expect(await queue.reschedule('later', 0)).toBe(false); // completed: nothing to move
    expect(await queue.reschedule('never-enqueued', 0)).toBe(false);
  });
});
