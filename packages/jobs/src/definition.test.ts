import { describe, expect, it } from '@jest/globals';
import { classifyFailure } from './dead-letter.ts';
import { deadLetterQueueName, partitions, providerPartition, resolveDefinition } from './definition.ts';
import { NonRetryableError } from './errors.ts';

describe('resolveDefinition', () => {
  it('when a definition is minimal, then defaults fill attempts, backoff and retention', () => {
    const def = resolveDefinition({ name: 'mail' });
    expect(def).toMatchObject({ name: 'mail', attempts: 5, backoff: { baseMs: 1000, capMs: 300_000 }, keepDeadLetters: { ageSeconds: 2_592_000 } });
    expect(partitions(def).map((p) => p.queue)).toEqual(['mail']);
    expect(deadLetterQueueName(def)).toBe('mail.dead-letter');
  });

  it('when providers are declared, then each gets its own partition with its limit', () => {
    const def = resolveDefinition({ name: 'mail', providers: { sendgrid: { max: 3, durationMs: 1000 } } });
    expect(partitions(def)).toEqual([
      { queue: 'mail', provider: undefined, limit: undefined },
      { queue: 'mail.sendgrid', provider: 'sendgrid', limit: { max: 3, durationMs: 1000 } },
    ]);
    expect(providerPartition(def, 'sendgrid')).toBe('mail.sendgrid');
    expect(() => providerPartition(def, 'ses')).toThrow(expect.objectContaining({ code: 'JOBS_PROVIDER_UNKNOWN' }));
  });

  it.each([
    [{ name: 'bad:name' }],
    [{ name: 'mail', attempts: 0 }],
    [{ name: 'mail', backoff: { baseMs: 100, capMs: 10 } }],
    [{ name: 'mail', providers: { 'dead-letter': { max: 1, durationMs: 1 } } }],
    [{ name: 'mail', providers: { ses: { max: 0, durationMs: 1000 } } }],
    [{ name: 'mail', keepDeadLetters: { ageSeconds: 0 } }],
  ])('when a definition is invalid (%j), then it throws JOBS_CONFIG_INVALID', (def) => {
    expect(() => resolveDefinition(def)).toThrow(expect.objectContaining({ code: 'JOBS_CONFIG_INVALID' }));
  });
});

describe('classifyFailure', () => {
  const job = (failedReason: string, attemptsMade: number, attempts: number) => ({ failedReason, attemptsMade, opts: { attempts } });

  it('when BullMQ failed the job for stalling or starting too often, then it is poison', () => {
    expect(classifyFailure(job('job stalled more than allowable limit', 1, 5))).toBe('poison');
    expect(classifyFailure(job('job started more than allowable limit', 1, 5))).toBe('poison');
  });

  it('when the error is non-retryable, then it is non-retryable; any other error is exhausted', () => {
    expect(classifyFailure(job('bad', 1, 5), new NonRetryableError('bad'))).toBe('non-retryable');
    expect(classifyFailure(job('down', 5, 5), new Error('down'))).toBe('exhausted');
  });

  it('when no error is at hand (a sweep), then attempts used decide', () => {
    expect(classifyFailure(job('down', 5, 5))).toBe('exhausted');
    expect(classifyFailure(job('bad', 1, 5))).toBe('non-retryable');
  });
});
