/**
 * Exposures of experiment flags, batched to apps/flags (POST /v1/exposures),
 * which files them for the results and sends them on to Kafka. One exposure
 * per (experiment, variant, targeting key) per process is enough for the
 * statistics, so repeats are dropped here; a failed batch is kept for the
 * next flush up to `maxPending` (then the oldest are dropped and counted).
 */

export interface Exposure {
  experiment: string;
  flag: string;
  variant: string;
  targetingKey: string;
  environment: string;
}

export interface ExposureSink {
  record(exposure: Exposure): void;
  flush(): Promise<void>;
  close(): Promise<void>;
  /** Exposures dropped because flags stayed away too long. */
  readonly dropped: number;
}

export function createExposureSink(options: {
  url: string;
  tenant: string;
  headers?: () => Record<string, string> | Promise<Record<string, string>>;
  flushIntervalMs?: number;
  maxBatch?: number;
  maxPending?: number;
  log: { warn(obj: object, msg?: string): void };
}): ExposureSink {
  const maxBatch = options.maxBatch ?? 500;
  const maxPending = options.maxPending ?? 50_000;
  const seen = new Set<string>();
  let pending: Exposure[] = [];
  let dropped = 0;
  let flushing: Promise<void> | undefined;
  async function send(batch: Exposure[]): Promise<void> {
    const headers = { 'content-type': 'application/json', 'x-auth-tenant': options.tenant, ...(await options.headers?.()) };
    const res = await fetch(`${options.url}/v1/exposures`, { method: 'POST', headers, body: JSON.stringify({ exposures: batch }), signal: AbortSignal.timeout(5_000) });
    if (!res.ok) throw new Error(`exposures answered ${res.status}`);
  }
  async function flushOnce(): Promise<void> {
    while (pending.length > 0) {
      const batch = pending.slice(0, maxBatch);
      try {
        await send(batch);
      } catch (err) {
        options.log.warn({ err, pending: pending.length }, 'sending exposures failed; kept for the next flush');
        return;
      }
      pending = pending.slice(batch.length);
    }
  }
  const flush = () => (flushing ??= flushOnce().finally(() => (flushing = undefined)));
  const timer = setInterval(() => void flush(), options.flushIntervalMs ?? 1_000);
  timer.unref();
  return {
    record(exposure) {
      const id = `${exposure.experiment}\u0000${exposure.variant}\u0000${exposure.targetingKey}`;
      if (seen.has(id)) return;
      if (seen.size >= 200_000) seen.clear();
      seen.add(id);
      pending.push(exposure);
      if (pending.length > maxPending) {
        dropped += pending.length - maxPending;
        pending = pending.slice(-maxPending);
      }
    },
    flush,
    async close() {
      clearInterval(timer);
      await flush();
    },
    get dropped() {
      return dropped;
    },
  };
}
