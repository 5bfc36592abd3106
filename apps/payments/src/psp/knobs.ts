/**
 * Failure knobs of the simulator: global settings (PUT /v1/_simulator) and
 * the per-request `psp-simulate` header, merged into one decision per call.
 * Header grammar: comma-separated `decline`, `timeout`, `latency=<ms>`,
 * `duplicate-webhook`, `out-of-order`.
 */
import { z } from 'zod';

const rate = z.number().min(0).max(1);

export const SimulatorSettings = z.object({
  declineRate: rate.default(0),
  timeoutRate: rate.default(0),
  latencyMs: z.object({ p50: z.number().min(0).max(60_000), p99: z.number().min(0).max(60_000) }).refine((l) => l.p99 >= l.p50, 'p99 must be >= p50').default({ p50: 0, p99: 0 }),
  duplicateWebhookRate: rate.default(0),
  outOfOrderRate: rate.default(0),
});
export type SimulatorSettings = z.output<typeof SimulatorSettings>;

export const SIMULATE_HEADER = 'psp-simulate';

export interface Decision {
  decline: boolean;
  timeout: boolean;
  latencyMs: number;
  duplicateWebhook: boolean;
  outOfOrder: boolean;
}

export interface HeaderKnobs {
  decline?: boolean;
  timeout?: boolean;
  latencyMs?: number;
  duplicateWebhook?: boolean;
  outOfOrder?: boolean;
}

/** Parses the header; unknown tokens are ignored so a newer client does not break an older simulator. */
export function parseSimulateHeader(value: string | undefined): HeaderKnobs {
  const knobs: HeaderKnobs = {};
  for (const raw of (value ?? '').split(',')) {
    const token = raw.trim().toLowerCase();
    if (token === 'decline') knobs.decline = true;
    else if (token === 'timeout') knobs.timeout = true;
    else if (token === 'duplicate-webhook') knobs.duplicateWebhook = true;
    else if (token === 'out-of-order') knobs.outOfOrder = true;
    else if (token.startsWith('latency=')) {
      const ms = Number(token.slice('latency='.length));
      if (Number.isFinite(ms) && ms >= 0) knobs.latencyMs = Math.min(ms, 60_000);
    }
  }
  return knobs;
}

/** Standard normal sample (Box–Muller). */
function gaussian(random: () => number): number {
  const u = 1 - random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

/**
 * A latency from a log-normal distribution with the given median and 99th
 * percentile (σ = ln(p99/p50) / z₀.₉₉), the usual shape of service latency.
 */
export function sampleLatencyMs(latency: { p50: number; p99: number }, random: () => number = Math.random): number {
  if (latency.p99 <= 0) return 0;
  if (latency.p50 <= 0) return random() < 0.01 ? latency.p99 : 0;
  const sigma = Math.log(latency.p99 / latency.p50) / 2.3263;
  return Math.min(60_000, Math.round(latency.p50 * Math.exp(sigma * gaussian(random))));
}

export function decide(settings: SimulatorSettings, header: HeaderKnobs, random: () => number = Math.random): Decision {
  return {
    decline: header.decline ?? random() < settings.declineRate,
    timeout: header.timeout ?? random() < settings.timeoutRate,
    latencyMs: header.latencyMs ?? sampleLatencyMs(settings.latencyMs, random),
    duplicateWebhook: header.duplicateWebhook ?? random() < settings.duplicateWebhookRate,
    outOfOrder: header.outOfOrder ?? random() < settings.outOfOrderRate,
  };
}
