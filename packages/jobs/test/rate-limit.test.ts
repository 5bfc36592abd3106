import { afterEach, describe, expect, it } from '@jest/globals';
import { waitFor } from './support/jobs.ts';
import { setupQueue, teardown } from './support/setup.ts';

afterEach(teardown);

/**
 * Splits sorted admission timestamps into bursts separated by gaps longer than
 * half the limiter window: with a limiter, a burst is what one window admitted.
 */
function bursts(timestamps: number[], windowMs: number): number[][] {
  const sorted = [...timestamps].sort((a, b) => a - b);
  const out: number[][] = [];
  for (const t of sorted) {
    const last = out.at(-1);
    if (last && t - last.at(-1)! <= windowMs / 2) last.push(t);
    else out.push([t]);
  }
  return out;
}

describe('rate limits per provider', () => {
  it('when a provider allows 3 jobs per window, then its jobs are admitted at most 3 per window while another provider is not held back', async () => {
    const windowMs = 1000;
    const { queue, work } = setupQueue<{ n: number }>({
      providers: { sendgrid: { max: 3, durationMs: windowMs }, twilio: { max: 50, durationMs: windowMs } },
    });
    const ids: Record<string, string[]> = { sendgrid: [], twilio: [] };
    for (let n = 0; n < 9; n++) ids.sendgrid!.push((await queue.enqueue('send', { n }, { provider: 'sendgrid' })).id);
    for (let n = 0; n < 5; n++) ids.twilio!.push((await queue.enqueue('sms', { n }, { provider: 'twilio' })).id);
    const providers: string[] = [];
    work(
      async (job) => {
        providers.push(job.provider ?? 'none');
      },
      { concurrency: 5 },
    );
    await waitFor('all jobs processed', async () => providers.length === 14);
    const admitted = async (provider: string) => {
      const q = queue.partitionQueues.get(`mail.${provider}`)!;
      return Promise.all(ids[provider]!.map(async (id) => (await q.getJob(id))!.processedOn!));
    };
    const sendgrid = bursts(await admitted('sendgrid'), windowMs);
    expect(sendgrid.length).toBeGreaterThanOrEqual(3);
    for (const burst of sendgrid) expect(burst.length).toBeLessThanOrEqual(3);
    expect(bursts(await admitted('twilio'), windowMs)).toHaveLength(1);
    expect(providers.filter((p) => p === 'sendgrid')).toHaveLength(9);
  });
});
