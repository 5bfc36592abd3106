import { afterEach, describe, expect, it } from '@jest/globals';
import {
  NonRetryableError,
  UnrecoverableError,
  getFailureReasons,
  getQueueDepth,
  inspectDeadLetter,
  listDeadLetters,
  purgeDeadLetters,
  replayDeadLetters,
} from '../src/index.ts';
import { Worker } from 'bullmq';
import { connection, waitFor } from './support/jobs.ts';
import { setupQueue, teardown } from './support/setup.ts';

afterEach(teardown);

describe('dead-letter queue', () => {
  it('when a job fails every attempt, then it lands in the DLQ with reason exhausted, each attempt error and time, and its original payload and options', async () => {
    const { queue, work } = setupQueue<{ to: string }>({ attempts: 3 });
    let calls = 0;
    work(async () => {
      calls++;
      throw new Error(`smtp down (call ${calls})`);
    });
    const before = Date.now();
    const { id } = await queue.enqueue('send', { to: 'a@example.com' }, { priority: 'high' });
    const [dl] = await waitFor('dead letter', async () => {
      const list = await listDeadLetters<{ to: string }>(queue);
      return list.length > 0 && list;
    });
    expect(dl).toMatchObject({ id, name: 'send', queue: 'mail', partition: 'mail', reason: 'exhausted', attemptsMade: 3, data: { to: 'a@example.com' } });
    expect(dl!.failedReason).toBe('smtp down (call 3)');
    expect(dl!.opts).toMatchObject({ priority: 2, attempts: 3 });
    expect(dl!.attempts.map((a) => [a.attempt, a.kind, a.error])).toEqual([
      [1, 'error', 'Error: smtp down (call 1)'],
      [2, 'error', 'Error: smtp down (call 2)'],
      [3, 'error', 'Error: smtp down (call 3)'],
    ]);
    for (const a of dl!.attempts) expect(a.at).toBeGreaterThanOrEqual(before);
    expect(dl!.attempts.map((a) => a.at)).toEqual([...dl!.attempts.map((a) => a.at)].sort((x, y) => x - y));
    // Moved, not copied: the failed set is empty.
    const depth = await getQueueDepth(queue);
    expect(depth.total.failed).toBe(0);
    expect(depth.deadLettered).toBe(1);
  });

  it.each([
    ['NonRetryableError', () => new NonRetryableError('invalid address')],
    ['UnrecoverableError', () => new UnrecoverableError('invalid address')],
  ])('when the handler throws %s, then the job goes straight to the DLQ with reason non-retryable after one attempt', async (_name, make) => {
    const { queue, work } = setupQueue<{ to: string }>({ attempts: 5 });
    let calls = 0;
    work(async () => {
      calls++;
      throw make();
    });
    const { id } = await queue.enqueue('send', { to: 'not-an-address' });
    const dl = await waitFor('dead letter', async () => (await listDeadLetters(queue))[0]);
    expect(dl).toMatchObject({ id, reason: 'non-retryable', failedReason: 'invalid address', attemptsMade: 1 });
    expect(dl.attempts).toHaveLength(1);
    expect(calls).toBe(1);
  });

  it('when a dead letter is replayed after the handler is fixed, then the job runs again under its id and succeeds, and the DLQ is empty', async () => {
    const { queue, work } = setupQueue<{ to: string }>({ attempts: 2 });
    let fixed = false;
    const done: string[] = [];
    work(async (job) => {
      if (!fixed) throw new Error('template missing');
      done.push(job.id);
      return 'sent';
    });
    const { id } = await queue.enqueue('send', { to: 'a@example.com' }, { idempotencyKey: 'notification:7' });
    await waitFor('dead letter', async () => (await listDeadLetters(queue)).length === 1);
    fixed = true;
    expect(await replayDeadLetters(queue, { id })).toEqual([id]);
    await waitFor('replayed job completed', async () => done.includes(id));
    const job = (await queue.partitionQueues.get('mail')!.getJob(id))!;
    expect(await job.getState()).toBe('completed');
    expect(job.returnvalue).toBe('sent');
    expect(job.data).toEqual({ to: 'a@example.com' });
    expect(await listDeadLetters(queue)).toEqual([]);
    await expect(inspectDeadLetter(queue, id)).rejects.toMatchObject({ code: 'JOBS_DEAD_LETTER_NOT_FOUND' });
  });

  it('when dead letters are filtered by name or reason, then list, failure reasons, replay and purge touch only the selection', async () => {
    const { queue, work } = setupQueue<{ kind: string }>({ attempts: 1 });
    work(async (job) => {
      if (job.data.kind === 'bad') throw new NonRetryableError('bad payload');
      throw new Error('provider 503');
    });
    await queue.enqueue('send', { kind: 'bad' });
    await queue.enqueue('send', { kind: 'flaky' });
    await queue.enqueue('digest', { kind: 'flaky' });
    await queue.enqueue('digest', { kind: 'flaky' });
    await waitFor('four dead letters', async () => (await listDeadLetters(queue)).length === 4);

    expect((await listDeadLetters(queue, { name: 'digest' })).map((d) => d.name)).toEqual(['digest', 'digest']);
    expect((await listDeadLetters(queue, { reason: 'non-retryable' })).map((d) => d.data)).toEqual([{ kind: 'bad' }]);
    const reasons = await getFailureReasons(queue);
    expect(reasons.map((r) => [r.reason, r.failedReason, r.count])).toEqual([
      ['exhausted', 'provider 503', 3],
      ['non-retryable', 'bad payload', 1],
    ]);

    const purged = await purgeDeadLetters(queue, { reason: 'non-retryable' });
    expect(purged).toHaveLength(1);
    expect(await listDeadLetters(queue, { reason: 'non-retryable' })).toEqual([]);
    expect(await listDeadLetters(queue)).toHaveLength(3);
    expect(await purgeDeadLetters(queue, { all: true })).toHaveLength(3);
    expect((await getQueueDepth(queue)).deadLettered).toBe(0);
  });

  it('when a replay selects a name, then only those jobs return to the queue', async () => {
    const { queue, work } = setupQueue<{ kind: string }>({ attempts: 1 });
    let broken = true;
    const ran: string[] = [];
    work(async (job) => {
      if (broken) throw new Error('down');
      ran.push(job.name);
    });
    await queue.enqueue('send', { kind: 'a' });
    await queue.enqueue('digest', { kind: 'b' });
    await waitFor('two dead letters', async () => (await listDeadLetters(queue)).length === 2);
    broken = false;
    expect(await replayDeadLetters(queue, { name: 'digest' })).toHaveLength(1);
    await waitFor('digest ran', async () => ran.includes('digest'));
    expect((await listDeadLetters(queue)).map((d) => d.name)).toEqual(['send']);
  });

  it('when a job with an idempotency key is dead-lettered, then enqueueing the key again adds nothing until the dead letter is replayed', async () => {
    const { queue, work } = setupQueue<{ to: string }>({ attempts: 1 });
    let runs = 0;
    work(async () => {
      runs++;
      throw new Error('down');
    });
    const first = await queue.enqueue('send', { to: 'a@example.com' }, { idempotencyKey: 'notification:9' });
    await waitFor('dead letter', async () => (await listDeadLetters(queue)).length === 1);
    const again = await queue.enqueue('send', { to: 'a@example.com' }, { idempotencyKey: 'notification:9' });
    expect(again).toEqual({ id: first.id, created: false, deadLettered: true, job: undefined });
    expect((await getQueueDepth(queue)).total).toMatchObject({ prioritized: 0, waiting: 0, active: 0 });
    expect(runs).toBe(1);
  });

  it('when a job failed for good where no JobWorker saw it (a worker died before the move), then the next JobWorker start sweeps it into the DLQ', async () => {
    const { queue, prefix, work } = setupQueue<{ to: string }>({ attempts: 1 });
    const { id } = await queue.enqueue('send', { to: 'a@example.com' });
    // A plain BullMQ worker fails it: the job stays in the failed set, as after a crash between failure and dead-lettering.
    const plain = new Worker(
      'mail',
      async () => {
        throw new Error('crashed before dead-lettering');
      },
      { connection: connection(), prefix },
    );
    const mail = queue.partitionQueues.get('mail')!;
    await waitFor('job failed', async () => (await mail.getFailedCount()) === 1);
    await plain.close();
    const worker = work(async () => {}, { autorun: false });
    await worker.start();
    const [dl] = await listDeadLetters(queue);
    expect(dl).toMatchObject({ id, reason: 'exhausted', failedReason: 'crashed before dead-lettering' });
    expect(await mail.getFailedCount()).toBe(0);
  });

  it('when dead letters are older than keepDeadLetters, then the workers\' sweep deletes them and keeps the newer ones', async () => {
    const { queue, work } = setupQueue<{ to: string }>({ attempts: 1, keepDeadLetters: { ageSeconds: 3600 } });
    const record = (jobId: string) => ({ queue: 'mail', partition: 'mail', jobId, provider: undefined, reason: 'exhausted', failedReason: 'smtp down', attemptsMade: 1, attempts: [], data: {}, opts: {} });
    // Dead-lettered two hours ago (a DLQ job's timestamp is when it was dead-lettered) and just now.
    await queue.deadLetterQueue.add('send', record('old'), { jobId: 'old', timestamp: Date.now() - 7_200_000 });
    await queue.deadLetterQueue.add('send', record('new'), { jobId: 'new' });
    const worker = work(async () => {}, { autorun: false });
    expect(await worker.trimDeadLetters()).toBe(1);
    expect((await listDeadLetters(queue)).map((d) => d.id)).toEqual(['new']);
    expect(await worker.trimDeadLetters()).toBe(0);
  });
});
