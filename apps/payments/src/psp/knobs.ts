/**
 * Failure knobs of the simulator: global settings (PUT /v1/_simulator) and
 * the per-request `psp-simulate` header, merged into one decision per call.
 * Header grammar: comma-separated `decline`, `timeout`, `latency=<ms>`,
 * `duplicate-webhook`, `out-of-order`.
 *
 * Timeout and decline are shares of one outcome, so the configured rates are
 * the rates callers see: one draw per call lands in [0, timeoutRate) — the
 * answer is held, whatever happened — or in the next declineRate — declined
 * — or in the rest. (Deciding the decline first and skipping the hold for
 * it made the observed timeout rate timeoutRate × (1 − declineRate).) When
 * the two add up past 1, timeouts take their share first.
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
  /** An authorization is declined (402). */
  decline: boolean;
  /** The operation happens and its answer, success or error, is held for PSP_TIMEOUT_HOLD_MS. */
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

/** A deterministic uniform [0, 1) source (mulberry32) for `PUT /v1/_simulator { seed }`: runs that measure rates repeat exactly. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export function decide(settings: SimulatorSettings, header: HeaderKnobs, random: () => number = Math.random): Decision {
  const outcome = random();
  return {
    timeout: header.timeout ?? outcome < settings.timeoutRate,
    decline: header.decline ?? (outcome >= settings.timeoutRate && outcome < settings.timeoutRate + settings.declineRate),
    latencyMs: header.latencyMs ?? sampleLatencyMs(settings.latencyMs, random),
    duplicateWebhook: header.duplicateWebhook ?? random() < settings.duplicateWebhookRate,
    outOfOrder: header.outOfOrder ?? random() < settings.outOfOrderRate,
  };
}
