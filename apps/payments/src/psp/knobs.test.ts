import { describe, expect, it } from '@jest/globals';
import { decide, parseSimulateHeader, sampleLatencyMs, seededRandom, SimulatorSettings } from './knobs.ts';

describe('failure knobs', () => {
  it('parses the psp-simulate header and ignores unknown tokens', () => {
    expect(parseSimulateHeader('decline, latency=250,duplicate-webhook,out-of-order,timeout,bogus')).toEqual({ decline: true, latencyMs: 250, duplicateWebhook: true, outOfOrder: true, timeout: true });
    expect(parseSimulateHeader(undefined)).toEqual({});
    expect(parseSimulateHeader('latency=-5')).toEqual({});
  });

  it('when the header says nothing, then global rates decide; header flags override them', () => {
    const always = SimulatorSettings.parse({ declineRate: 1, duplicateWebhookRate: 1, outOfOrderRate: 1 });
    expect(decide(always, {}, () => 0.5)).toMatchObject({ decline: true, timeout: false, duplicateWebhook: true, outOfOrder: true, latencyMs: 0 });
    expect(decide(SimulatorSettings.parse({ timeoutRate: 1 }), {}, () => 0.5)).toMatchObject({ decline: false, timeout: true });
    expect(decide(SimulatorSettings.parse({}), { decline: true }, () => 0.5)).toMatchObject({ decline: true, timeout: false, duplicateWebhook: false });
    expect(decide(SimulatorSettings.parse({}), { decline: true, timeout: true }, () => 0.5)).toMatchObject({ decline: true, timeout: true });
  });

  it('when timeout and decline rates are set, then over many seeded calls callers see exactly those rates (a held answer counts as a timeout, whatever it holds)', () => {
    const settings = SimulatorSettings.parse({ declineRate: 0.3, timeoutRate: 0.25 });
    const random = seededRandom(7);
    const n = 50_000;
    let timeouts = 0;
    let declines = 0;
    for (let i = 0; i < n; i++) {
      const d = decide(settings, {}, random);
      if (d.timeout) timeouts++; // the simulator holds every answer of such a call
      else if (d.decline) declines++; // answered 402 in time
    }
    expect(Math.abs(timeouts / n - 0.25)).toBeLessThan(0.01);
    expect(Math.abs(declines / n - 0.3)).toBeLessThan(0.01);
  });

  it('when rates add up past 1, then timeouts take their share first and declines the rest', () => {
    const settings = SimulatorSettings.parse({ declineRate: 0.8, timeoutRate: 0.5 });
    const random = seededRandom(1);
    const d = Array.from({ length: 10_000 }, () => decide(settings, {}, random));
    expect(Math.abs(d.filter((x) => x.timeout).length / 10_000 - 0.5)).toBeLessThan(0.02);
    expect(d.filter((x) => !x.timeout && !x.decline)).toEqual([]);
  });

  it('repeats the same sequence for the same seed', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const xs = Array.from({ length: 5 }, () => a());
    expect(Array.from({ length: 5 }, () => b())).toEqual(xs);
    for (const x of xs) expect(x >= 0 && x < 1).toBe(true);
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
