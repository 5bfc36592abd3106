import { afterEach, describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import { NonRetryableError, listDeadLetters } from '../src/index.ts';
import { waitFor } from './support/jobs.ts';
import { setupQueue, teardown } from './support/setup.ts';

afterEach(teardown);

async function value(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const base = name.replace(/_count$/, '');
  const metric = registry.getSingleMetric(base);
  if (!metric) throw new Error(`no metric ${base}`);
  const { values } = await metric.get();
  return values
    .filter((v) => ((v as { metricName?: string }).metricName ?? base) === name && Object.entries(labels).every(([k, l]) => v.labels[k] === l))
    .reduce((s, v) => s + v.value, 0);
}

describe('metrics', () => {
  it('when jobs succeed, retry, dead-letter and wait delayed, then counters, histograms and the depth gauge say so', async () => {
    const registry = new Registry();
    const { queue, work } = setupQueue<{ kind: string }>({ attempts: 3 }, registry);
    let flakyCalls = 0;
    work(async (job) => {
      if (job.data.kind === 'bad') throw new NonRetryableError('bad payload');
      if (job.data.kind === 'flaky' && ++flakyCalls === 1) throw new Error('timeout');
    });
    await queue.enqueue('send', { kind: 'ok' });
    await queue.enqueue('send', { kind: 'flaky' });
    await queue.enqueue('send', { kind: 'bad' });
    await queue.enqueue('send', { kind: 'later' }, { delayMs: 600_000 });
    await waitFor('dead letter counted', async () => (await value(registry, 'bulwark_jobs_dead_lettered_total', { queue: 'mail' })) === 1);
    await waitFor('two completions', async () => (await value(registry, 'bulwark_jobs_completed_total', { queue: 'mail' })) === 2);
    expect(await listDeadLetters(queue)).toHaveLength(1);

    const q = { queue: 'mail' };
    expect(await value(registry, 'bulwark_jobs_enqueued_total', q)).toBe(4);
    expect(await value(registry, 'bulwark_jobs_failed_total', q)).toBe(2);
    expect(await value(registry, 'bulwark_jobs_retried_total', q)).toBe(1);
    expect(await value(registry, 'bulwark_jobs_dead_lettered_total', { ...q, reason: 'non-retryable' })).toBe(1);
    expect(await value(registry, 'bulwark_jobs_processing_seconds_count', { ...q, outcome: 'completed' })).toBe(2);
    expect(await value(registry, 'bulwark_jobs_processing_seconds_count', { ...q, outcome: 'failed' })).toBe(2);
    // First runs only (ok, flaky, bad); the flaky job's retry is not a queue wait.
    expect(await value(registry, 'bulwark_jobs_waiting_seconds_count', q)).toBe(3);
    expect(await value(registry, 'bulwark_jobs_depth', { ...q, state: 'delayed' })).toBe(1);
    expect(await value(registry, 'bulwark_jobs_depth', { ...q, state: 'completed' })).toBe(2);
    expect(await value(registry, 'bulwark_jobs_depth', { ...q, state: 'failed' })).toBe(0);
    expect(await registry.metrics()).toContain('bulwark_jobs_depth{queue="mail",state="delayed"} 1');
  });
});
