import { afterEach, describe, expect, it } from '@jest/globals';
import { getOldestWaitingAge, getQueueDepth } from '../src/index.ts';
import { setupQueue, teardown } from './support/setup.ts';

afterEach(teardown);

describe('admin functions', () => {
  it('when jobs wait in several partitions and states, then depth is reported per partition, state and in total', async () => {
    const { queue } = setupQueue<{ n: number }>({ providers: { sendgrid: { max: 10, durationMs: 1000 } } });
    await queue.enqueue('send', { n: 1 });
    await queue.enqueue('send', { n: 2 }, { priority: 'critical' });
    await queue.enqueue('send', { n: 3 }, { provider: 'sendgrid' });
    await queue.enqueue('send', { n: 4 }, { provider: 'sendgrid', delayMs: 600_000 });
    const depth = await getQueueDepth(queue);
    expect(depth.queue).toBe('mail');
    expect(depth.partitions['mail']).toMatchObject({ prioritized: 2, delayed: 0, active: 0 });
    expect(depth.partitions['mail.sendgrid']).toMatchObject({ prioritized: 1, delayed: 1 });
    expect(depth.total).toMatchObject({ prioritized: 3, delayed: 1, waiting: 0, active: 0, failed: 0, completed: 0 });
    expect(depth.deadLettered).toBe(0);
  });

  it('when the oldest job has low priority and sits in a provider partition, then the oldest waiting age is measured from it; delayed jobs do not count', async () => {
    const { queue } = setupQueue<{ n: number }>({ providers: { sendgrid: { max: 10, durationMs: 1000 } } });
    expect(await getOldestWaitingAge(queue)).toBeUndefined();
    await queue.enqueue('send', { n: 0 }, { delayMs: 600_000 });
    expect(await getOldestWaitingAge(queue)).toBeUndefined();
    const oldest = await queue.enqueue('send', { n: 1 }, { priority: 'low', provider: 'sendgrid' });
    await queue.enqueue('send', { n: 2 }, { priority: 'critical' });
    await queue.enqueue('send', { n: 3 }, { priority: 'low', provider: 'sendgrid' });
    const now = Date.now();
    expect(await getOldestWaitingAge(queue, now)).toBe(now - oldest.job!.timestamp);
  });
});
