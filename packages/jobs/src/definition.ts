/**
 * A queue definition, shared by the producer (`JobQueue`) and the consumer
 * (`JobWorker`), and the BullMQ queue names it maps to. A queue with providers
 * is partitioned: one BullMQ queue per provider, each with its own BullMQ
 * limiter, so a throttled provider never holds back another's jobs (BullMQ's
 * limiter is per queue; group keys are a BullMQ Pro feature).
 */
import { DEFAULT_BACKOFF, type BackoffPolicy } from './backoff.ts';
import { configInvalid, providerUnknown } from './errors.ts';

export interface ProviderLimit {
  /** Jobs admitted to processing per window. */
  max: number;
  /** Window length in ms. */
  durationMs: number;
}

export interface QueueDefinition {
  /** Queue name: letters, digits, `-` and `_`. */
  name: string;
  /** Attempts per job, first run included (default 5). */
  attempts?: number;
  /** Full-jitter backoff between attempts (default base 1 s, cap 5 min). */
  backoff?: BackoffPolicy;
  /** Per-provider rate limits; a job names its provider at enqueue. */
  providers?: Record<string, ProviderLimit>;
  /** Completed jobs kept for inspection (default the last 1000, at most 1 day). */
  keepCompleted?: { count: number; ageSeconds: number };
  /**
   * Dead letters older than this are deleted by the workers' sweep (default
   * 30 days). The queue never consumes its dead-letter queue, so without a
   * bound every final failure (its payload included) stays in Redis forever.
   */
  keepDeadLetters?: { ageSeconds: number };
}

export interface ResolvedDefinition {
  name: string;
  attempts: number;
  backoff: BackoffPolicy;
  providers: Map<string, ProviderLimit>;
  keepCompleted: { count: number; ageSeconds: number };
  keepDeadLetters: { ageSeconds: number };
}

const NAME = /^[A-Za-z0-9_-]{1,100}$/;

const DEAD_LETTER_SUFFIX = 'dead-letter';

/** Validates a definition and fills defaults; throws JOBS_CONFIG_INVALID naming the bad key. A resolved one is returned as is. */
export function resolveDefinition(def: QueueDefinition | ResolvedDefinition): ResolvedDefinition {
  if (def.providers instanceof Map) return def as ResolvedDefinition;
  if (!NAME.test(def.name)) throw configInvalid(`queue name "${def.name}" must match ${NAME}`);
  const attempts = def.attempts ?? 5;
  if (!Number.isInteger(attempts) || attempts < 1) throw configInvalid(`queue "${def.name}": attempts must be an integer ≥ 1`);
  const backoff = def.backoff ?? DEFAULT_BACKOFF;
  if (!(backoff.baseMs > 0) || !(backoff.capMs >= backoff.baseMs)) throw configInvalid(`queue "${def.name}": backoff needs 0 < baseMs ≤ capMs`);
  const providers = new Map<string, ProviderLimit>();
  for (const [provider, limit] of Object.entries((def as QueueDefinition).providers ?? {})) {
    if (!NAME.test(provider) || provider === DEAD_LETTER_SUFFIX) throw configInvalid(`queue "${def.name}": bad provider name "${provider}"`);
    if (!Number.isInteger(limit.max) || limit.max < 1 || !(limit.durationMs > 0)) {
      throw configInvalid(`queue "${def.name}": provider "${provider}" needs integer max ≥ 1 and durationMs > 0`);
    }
    providers.set(provider, limit);
  }
  const keepDeadLetters = (def as QueueDefinition).keepDeadLetters ?? { ageSeconds: 30 * 86_400 };
  if (!Number.isInteger(keepDeadLetters.ageSeconds) || keepDeadLetters.ageSeconds < 1) throw configInvalid(`queue "${def.name}": keepDeadLetters.ageSeconds must be an integer ≥ 1`);
  return { name: def.name, attempts, backoff, providers, keepCompleted: def.keepCompleted ?? { count: 1000, ageSeconds: 86_400 }, keepDeadLetters };
}

/** BullMQ queue that holds jobs without a provider. */
export function defaultPartition(def: ResolvedDefinition): string {
  return def.name;
}

/** BullMQ queue of one provider's jobs. */
export function providerPartition(def: ResolvedDefinition, provider: string): string {
  if (!def.providers.has(provider)) throw providerUnknown(def.name, provider);
  return `${def.name}.${provider}`;
}

/** Every BullMQ queue a worker must consume: the default one, then one per provider. */
export function partitions(def: ResolvedDefinition): { queue: string; provider: string | undefined; limit: ProviderLimit | undefined }[] {
  return [
    { queue: defaultPartition(def), provider: undefined, limit: undefined },
    ...[...def.providers].map(([provider, limit]) => ({ queue: `${def.name}.${provider}`, provider, limit })),
  ];
}

/** BullMQ queue holding the dead letters of every partition of the queue; no worker consumes it. */
export function deadLetterQueueName(def: ResolvedDefinition): string {
  return `${def.name}.${DEAD_LETTER_SUFFIX}`;
}
