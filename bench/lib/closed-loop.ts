/**
 * Closed-loop load for the benches that compare a thing with its baseline in
 * rounds: a fixed number of callers, each starting its next call when the last
 * one answered, and the rounds' throughput and latency percentiles.
 */

/** One round: how many calls, how long they took in all, and each call's latency (ms). */
export interface Round {
  ops: number;
  seconds: number;
  latencies: Float64Array;
}

export interface Summary {
  opsPerSec: number;
  p50: number;
  p99: number;
}

/** Runs `ops` calls of `op` from `concurrency` callers; `op` gets the call's index and its caller's. */
export async function measureClosedLoop(op: (i: number, caller: number) => Promise<unknown>, options: { ops: number; concurrency: number }): Promise<Round> {
  const { ops, concurrency } = options;
  const latencies = new Float64Array(ops);
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, caller) => {
      while (next < ops) {
        const i = next++;
        const t = performance.now();
        await op(i, caller);
        latencies[i] = performance.now() - t;
      }
    }),
  );
  return { ops, seconds: (performance.now() - started) / 1000, latencies };
}

/** Throughput over the rounds' summed time, and p50/p99 over all their calls. */
export function summarize(rounds: Round[]): Summary {
  const ops = rounds.reduce((s, x) => s + x.ops, 0);
  const seconds = rounds.reduce((s, x) => s + x.seconds, 0);
  const lat = new Float64Array(ops);
  let o = 0;
  for (const x of rounds) {
    lat.set(x.latencies, o);
    o += x.latencies.length;
  }
  lat.sort();
  return { opsPerSec: ops / seconds, p50: lat[Math.floor(ops * 0.5)]!, p99: lat[Math.floor(ops * 0.99)]! };
}
