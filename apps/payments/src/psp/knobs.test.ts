import { describe, expect, it } from '@jest/globals';
import { decide, parseSimulateHeader, sampleLatencyMs, SimulatorSettings } from './knobs.ts';

describe('failure knobs', () => {
  it('parses the psp-simulate header and ignores unknown tokens', () => {
    expect(parseSimulateHeader('decline, latency=250,duplicate-webhook,out-of-order,timeout,bogus')).toEqual({ decline: true, latencyMs: 250, duplicateWebhook: true, outOfOrder: true, timeout: true });
    expect(parseSimulateHeader(undefined)).toEqual({});
    expect(parseSimulateHeader('latency=-5')).toEqual({});
  });

  it('when the header says nothing, then global rates decide; header flags override them', () => {
    const always = SimulatorSettings.parse({ declineRate: 1, timeoutRate: 1, duplicateWebhookRate: 1, outOfOrderRate: 1 });
    expect(decide(always, {}, () => 0.5)).toMatchObject({ decline: true, timeout: true, duplicateWebhook: true, outOfOrder: true, latencyMs: 0 });
    expect(decide(SimulatorSettings.parse({}), { decline: true }, () => 0.5)).toMatchObject({ decline: true, timeout: false, duplicateWebhook: false });
  });

  it('samples log-normal latency whose median and 99th percentile match the settings', () => {
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const samples = Array.from({ length: 20_000 }, () => sampleLatencyMs({ p50: 20, p99: 200 }, random)).sort((a, b) => a - b);
    const p50 = samples[Math.floor(samples.length * 0.5)]!;
    const p99 = samples[Math.floor(samples.length * 0.99)]!;
    expect(p50).toBeGreaterThanOrEqual(17);
    expect(p50).toBeLessThanOrEqual(23);
    expect(p99).toBeGreaterThanOrEqual(150);
    expect(p99).toBeLessThanOrEqual(260);
    expect(sampleLatencyMs({ p50: 0, p99: 0 })).toBe(0);
  });

  it('refuses a p99 below the p50', () => {
    expect(SimulatorSettings.safeParse({ latencyMs: { p50: 100, p99: 10 } }).success).toBe(false);
  });
});
