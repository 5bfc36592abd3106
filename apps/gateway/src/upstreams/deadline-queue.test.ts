import { describe, expect, it } from '@jest/globals';
import { waitFor } from '@bulwark/test-support';
import { DeadlineQueue } from './deadline-queue.ts';

describe('DeadlineQueue', () => {
  it('when deadlines pass, then each expires once, in start order, and cancelled ones never', async () => {
    const queue = new DeadlineQueue(5);
    const expired: string[] = [];
    queue.start(() => expired.push('a'));
    const b = queue.start(() => expired.push('b'));
    queue.start(() => expired.push('c'));
    queue.cancel(b);
    queue.cancel(b); // idempotent
    await waitFor(() => expired.length === 2, 'a and c expired');
    expect(expired).toEqual(['a', 'c']);
    expect(queue.live).toBe(0);
    expect(queue.held).toBe(0);
  });

  it('when an expiry starts a new deadline, then that one expires too (the timer is re-armed)', async () => {
    const queue = new DeadlineQueue(2);
    let rounds = 0;
    const again = (): void => {
      rounds++;
      if (rounds < 3) queue.start(again);
    };
    queue.start(again);
    await waitFor(() => rounds === 3, 'three chained expiries');
    expect(queue.live).toBe(0);
  });

  it('when every deadline is cancelled in time, then none expires and nothing is held', async () => {
    const queue = new DeadlineQueue(1);
    let fired = 0;
    for (let i = 0; i < 1000; i++) queue.cancel(queue.start(() => fired++));
    expect(queue.held).toBe(0);
    const probe = queue.start(() => fired++);
    await waitFor(() => fired === 1, 'the probe expired');
    expect(probe.onExpired).toBeUndefined();
  });

  it('when a slow head stays live, then settled entries behind it are compacted to a bound', () => {
    const queue = new DeadlineQueue(60_000);
    const head = queue.start(() => undefined);
    let maxHeld = 0;
    for (let i = 0; i < 10_000; i++) {
      queue.cancel(queue.start(() => undefined));
      maxHeld = Math.max(maxHeld, queue.held);
    }
    expect(queue.live).toBe(1);
    expect(maxHeld).toBeLessThanOrEqual(66);
    queue.cancel(head);
    expect(queue.held).toBe(0);
  });
});
