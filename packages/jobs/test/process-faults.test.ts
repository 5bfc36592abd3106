import { afterEach, describe, expect, it } from '@jest/globals';
import { Worker } from 'bullmq';
import { randomUUID } from 'node:crypto';
import { listDeadLetters } from '../src/index.ts';
import { readAttempts } from '../src/dead-letter.ts';
import { connection, startFixtureWorker, waitFor, type FixtureWorker } from './support/jobs.ts';
import { setupQueue, teardown } from './support/setup.ts';

const children: FixtureWorker[] = [];

afterEach(async () => {
  for (const c of children.splice(0)) {
    if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
    await c.exited;
  }
  await teardown();
});

function spawnWorker(mode: 'slow' | 'hang' | 'crash', prefix: string, env: Record<string, string> = {}): FixtureWorker {
  const w = startFixtureWorker(mode, { prefix, queue: 'mail', ...env });
  children.push(w);
  return w;
}

describe('graceful shutdown of a worker process', () => {
  it('when SIGTERM arrives mid-job and the job ends within the deadline, then the job completes and the process exits 0', async () => {
    const { queue, prefix } = setupQueue<{ to: string }>();
    const { id } = await queue.enqueue('send', { to: 'a@example.com' });
    const w = spawnWorker('slow', prefix, { JOBS_FIXTURE_WORK_MS: '500', JOBS_FIXTURE_DEADLINE_MS: '20000' });
    expect(await w.started).toBe(id);
    w.child.kill('SIGTERM');
    const exit = await w.exited;
    expect(exit.code).toBe(0);
    expect(exit.stdout).toContain('stopped {"handedBack":[]}');
    const job = (await queue.partitionQueues.get('mail')!.getJob(id))!;
    expect(await job.getState()).toBe('completed');
    expect(job.returnvalue).toBe('done');
  });

  it('when SIGTERM arrives mid-job and the job outlives the deadline, then the job is handed back to wait (not active, not stalled) and runs later', async () => {
    const { queue, prefix, work } = setupQueue<{ to: string }>();
    const { id } = await queue.enqueue('send', { to: 'a@example.com' });
    const w = spawnWorker('hang', prefix, { JOBS_FIXTURE_DEADLINE_MS: '300' });
    expect(await w.started).toBe(id);
    w.child.kill('SIGTERM');
    const exit = await w.exited;
    expect(exit.code).toBe(0);
    expect(exit.stdout).toContain(`stopped {"handedBack":["${id}"]}`);
    const mailQueue = queue.partitionQueues.get('mail')!;
    const job = (await mailQueue.getJob(id))!;
    expect(['waiting', 'prioritized']).toContain(await job.getState());
    expect(job.attemptsMade).toBe(0);
    expect(await mailQueue.getActiveCount()).toBe(0);
    // Another worker picks it up as a normal job.
    const ran: string[] = [];
    work(async (j) => {
      ran.push(j.id);
    });
    await waitFor('handed-back job ran', async () => ran.includes(id));
    await waitFor('handed-back job completed', async () => (await job.getState()) === 'completed');
  });
});

describe('stalled and poison jobs', () => {
  it('when a worker takes a job and dies without a word, then the stalled check returns it to wait and another worker completes it, with the stall in its history', async () => {
    const { queue, prefix, work } = setupQueue<{ to: string }>();
    const { id } = await queue.enqueue('send', { to: 'a@example.com' });
    // A worker that fetches the job and then never renews its lock nor finishes: a crashed process, from Redis's view.
    const crashed = new Worker('mail', null, { connection: connection(), prefix, lockDuration: 500 });
    const taken = await crashed.getNextJob(randomUUID());
    expect(taken?.id).toBe(id);
    await crashed.close(true);
    const mailQueue = queue.partitionQueues.get('mail')!;
    expect(await (await mailQueue.getJob(id))!.getState()).toBe('active');

    const ran: number[] = [];
    work(
      async (job) => {
        ran.push(job.attempt);
      },
      { stalledIntervalMs: 200, lockDurationMs: 5000 },
    );
    await waitFor('recovered job completed', async () => (await (await mailQueue.getJob(id))!.getState()) === 'completed');
    expect(ran).toHaveLength(1);
    const history = await readAttempts(mailQueue, id);
    expect(history.map((a) => a.kind)).toEqual(['stalled']);
    expect(await listDeadLetters(queue)).toEqual([]);
  });

  it('when a job crashes its worker process every time, then after maxStalledCount stalls it is dead-lettered as poison instead of crashing more workers', async () => {
    const { queue, prefix } = setupQueue<{ to: string }>({ attempts: 10 });
    const { id } = await queue.enqueue('send', { to: 'boom' });
    const env = { JOBS_FIXTURE_LOCK_MS: '400', JOBS_FIXTURE_STALLED_MS: '150', JOBS_FIXTURE_MAX_STALLED: '1' };
    let crashes = 0;
    let dead: Awaited<ReturnType<typeof listDeadLetters>> = [];
    let last: FixtureWorker | undefined;
    for (let spawned = 0; spawned < 8 && dead.length === 0; spawned++) {
      const w = spawnWorker('crash', prefix, env);
      last = w;
      // Each process either runs the job and crashes, or (once the job is poison) fails it without running it.
      await waitFor('a crash or a dead letter', async () => {
        if (w.child.exitCode !== null) return true;
        dead = await listDeadLetters(queue);
        return dead.length > 0;
      });
      if (dead.length === 0) {
        expect(w.child.exitCode).toBe(1);
        crashes++;
      }
    }
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({ id, reason: 'poison', failedReason: 'job stalled more than allowable limit', data: { to: 'boom' } });
    // maxStalledCount 1: the job may stall once and be retried; the second stall makes it poison.
    expect(crashes).toBe(2);
    expect(dead[0]!.attempts.filter((a) => a.kind === 'stalled').length).toBeGreaterThanOrEqual(1);
    // The owner hears of the poison verdict (the handler never ran, so only the hook can tell it).
    last!.child.kill('SIGTERM');
    expect((await last!.exited).stdout).toContain(`dead-letter ${id} poison`);
  });
});
