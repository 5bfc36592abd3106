/**
 * Per-provider limits, asserted on state, not on time: BullMQ's limiter
 * counts admissions per window in a Redis counter (`<queue>:limiter`, INCR on
 * each admission, expiring with the window); every handler reads its
 * partition's counter, which must never exceed the provider's max, and the
 * other provider's jobs all run while the throttled one still has jobs held.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { waitFor } from './support/jobs.ts';
import { setupQueue, teardown } from './support/setup.ts';

afterEach(teardown);

describe('rate limits per provider', () => {
  it('when a provider allows 3 jobs per window, then its limiter never admits more than 3 in a window, and another provider runs all its jobs while the first is held back', async () => {
    const { queue, work } = setupQueue<{ n: number }>({
      providers: { sendgrid: { max: 3, durationMs: 2_000 }, twilio: { max: 50, durationMs: 2_000 } },
    });
    for (let n = 0; n < 9; n++) await queue.enqueue('send', { n }, { provider: 'sendgrid' });
    for (let n = 0; n < 5; n++) await queue.enqueue('sms', { n }, { provider: 'twilio' });
    const sendgrid = queue.partitionQueues.get('mail.sendgrid')!;
    const redis = (await sendgrid.backend.client) as unknown as { get(key: string): Promise<string | null> };
    const admittedInWindow: number[] = [];
    let sendgridRuns = 0;
    const sendgridRunsWhenTwilioRan: number[] = [];
    work(
      async (job) => {
        if (job.provider === 'sendgrid') {
          // The limiter's own count of admissions in the current window (the key expires with the window).
          admittedInWindow.push(Number((await redis.get(sendgrid.keys.limiter!)) ?? 0));
          sendgridRuns++;
        } else sendgridRunsWhenTwilioRan.push(sendgridRuns);
      },
      { concurrency: 5 },
    );
    await waitFor('all jobs processed', async () => sendgridRuns === 9 && sendgridRunsWhenTwilioRan.length === 5);
    expect(admittedInWindow).toHaveLength(9);
    expect(Math.max(...admittedInWindow)).toBeLessThanOrEqual(3);
    expect(Math.min(...admittedInWindow)).toBeGreaterThanOrEqual(1);
    // twilio was not held back by sendgrid's limit: its five jobs ran while sendgrid's limiter still held six or more.
    expect(Math.max(...sendgridRunsWhenTwilioRan)).toBeLessThanOrEqual(3);
    const completed = await sendgrid.getJobCountByTypes('completed');
    expect(completed).toBe(9);
  });
});
