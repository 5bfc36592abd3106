import { describe, expect, it } from '@jest/globals';
import { formatFencingToken } from '../leader.ts';
import { idempotencyKey, jobOutcome, runName } from './crontask-runs.ts';

describe('runName', () => {
  it('when the task name is short, then the run is <task>-<unix seconds> of the tick', () => {
    expect(runName('nightly', new Date('2026-05-01T10:00:00Z'))).toBe('nightly-1777629600');
  });

  it('when the name would pass 63 characters, then it is cut, made unique by a hash of the full name, and stays a DNS label', () => {
    const tick = new Date('2026-05-01T10:00:00Z');
    const a = runName(`${'a'.repeat(60)}-x`, tick);
    const b = runName(`${'a'.repeat(60)}-y`, tick);
    expect(a.length).toBeLessThanOrEqual(63);
    expect(a).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    expect(a).not.toBe(b);
    expect(a.endsWith('-1777629600')).toBe(true);
    expect(runName(`${'a'.repeat(60)}-x`, tick)).toBe(a);
  });
});

describe('claim headers and outcomes', () => {
  it('when formatting keys and tokens, then the idempotency key names namespace, task and tick, and the token puts the transitions first', () => {
    expect(idempotencyKey('ns', 'nightly', new Date('2026-05-01T10:00:00Z'))).toBe('ns/nightly/2026-05-01T10:00:00.000Z');
    expect(formatFencingToken({ holder: 'op-1', leaseTransitions: 7 })).toBe('7/op-1');
  });

  it('when a Job reports Complete or Failed, then the run succeeds or fails; otherwise it is still running', () => {
    expect(jobOutcome(undefined)).toBeUndefined();
    expect(jobOutcome({ status: { conditions: [{ type: 'Complete', status: 'True' }] } })?.phase).toBe('Succeeded');
    expect(jobOutcome({ status: { conditions: [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded' }] } })).toEqual(expect.objectContaining({ phase: 'Failed', message: 'BackoffLimitExceeded:' }));
    expect(jobOutcome({ status: { conditions: [{ type: 'Suspended', status: 'True' }] } })).toBeUndefined();
  });
});
