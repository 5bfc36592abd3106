import { describe, expect, it } from '@jest/globals';
import { computeLag } from './admin.ts';
import { attemptsSoFar, failureHeaders, planFailure, replayHeaders, RETRY_HEADERS, retryPolicy } from './retry.ts';

describe('failure planning', () => {
  const policy = retryPolicy({ delaysMs: [100, 1_000] });

  it('when attempts remain, then each failure goes one retry level further with its delay', () => {
    expect(policy.maxAttempts).toBe(3);
    expect(planFailure(policy, 1, true)).toEqual({ kind: 'retry', level: 1, delayMs: 100 });
    expect(planFailure(policy, 2, true)).toEqual({ kind: 'retry', level: 2, delayMs: 1_000 });
    expect(planFailure(policy, 3, true)).toEqual({ kind: 'dead-letter' });
  });

  it('when more attempts than levels are allowed, then the last level is reused', () => {
    expect(planFailure(retryPolicy({ delaysMs: [100], maxAttempts: 4 }), 3, true)).toEqual({ kind: 'retry', level: 1, delayMs: 100 });
  });

  it('when the failure is not retryable, then it is dead-lettered at once', () => {
    expect(planFailure(policy, 1, false)).toEqual({ kind: 'dead-letter' });
  });

  it('when an event fails twice, then the headers keep its first origin and the latest reason', () => {
    const first = failureHeaders({ ce_id: 'e' }, { topic: 'orders', partition: 2, offset: '7', group: 'g', attempt: 1, error: new Error('boom'), now: 0 }, 100);
    expect(first).toMatchObject({ ce_id: 'e', [RETRY_HEADERS.originalTopic]: 'orders', [RETRY_HEADERS.originalPartition]: '2', [RETRY_HEADERS.originalOffset]: '7', [RETRY_HEADERS.attempt]: '1', [RETRY_HEADERS.dueAt]: '100' });
    const second = failureHeaders(first, { topic: 'orders.retry.g.1', partition: 0, offset: '0', group: 'g', attempt: 2, error: Object.assign(new Error('bang'), { code: 'X' }), now: 1 });
    expect(second).toMatchObject({ [RETRY_HEADERS.originalTopic]: 'orders', [RETRY_HEADERS.originalOffset]: '7', [RETRY_HEADERS.errorReason]: 'bang', [RETRY_HEADERS.errorCode]: 'X', [RETRY_HEADERS.attempt]: '2' });
    expect(second[RETRY_HEADERS.dueAt]).toBeUndefined();
    expect(attemptsSoFar(second)).toBe(2);
    const replayed = replayHeaders(second, 0);
    expect(Object.keys(replayed).sort()).toEqual(['bulwark-replayed-at', 'ce_id']);
    expect(attemptsSoFar(replayed)).toBe(0);
  });
});

describe('lag', () => {
  it('when a group never committed, then lag counts from the low watermark; otherwise from the committed offset', () => {
    expect(computeLag('t', 0, 10, 3, -1)).toEqual({ topic: 't', partition: 0, highWatermark: 10, committedOffset: 3, lag: 7 });
    expect(computeLag('t', 0, 10, 0, 8).lag).toBe(2);
    expect(computeLag('t', 0, 10, 0, 10).lag).toBe(0);
  });
});
