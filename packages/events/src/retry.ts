/**
 * Where a failed event goes next, and the headers that travel with it. Retry
 * topics are per consumer group (`<topic>.retry.<group>.<level>`), so one
 * group's failures never replay into another group's handlers; level n holds
 * events waiting `delaysMs[n-1]`. After `maxAttempts` attempts, or at once for
 * non-retryable failures, the event goes to `<topic>.dlq.<group>`. Pure.
 */

/** Headers we add; `ce_*` headers and the value are copied unchanged. */
export const RETRY_HEADERS = {
  /** Attempts made so far (1 after the first failure). */
  attempt: 'bulwark-attempt',
  /** Epoch ms before which a retry-topic consumer must not handle the event. */
  dueAt: 'bulwark-due-at',
  originalTopic: 'bulwark-original-topic',
  originalPartition: 'bulwark-original-partition',
  originalOffset: 'bulwark-original-offset',
  group: 'bulwark-consumer-group',
  errorName: 'bulwark-error-name',
  errorCode: 'bulwark-error-code',
  errorReason: 'bulwark-error-reason',
  errorStack: 'bulwark-error-stack',
  failedAt: 'bulwark-failed-at',
  replayedAt: 'bulwark-replayed-at',
} as const;

export function retryTopicName(topic: string, group: string, level: number): string {
  return `${topic}.retry.${group}.${level}`;
}

export function deadLetterTopicName(topic: string, group: string): string {
  return `${topic}.dlq.${group}`;
}

export interface RetryPolicy {
  /** Delay of each retry level; one retry topic per entry. Default [1 s, 10 s, 60 s]. */
  delaysMs: readonly number[];
  /** Total attempts before dead-lettering; default delaysMs.length + 1. Beyond the levels, the last level is reused. */
  maxAttempts: number;
}

export const DEFAULT_RETRY_DELAYS_MS: readonly number[] = [1_000, 10_000, 60_000];

export function retryPolicy(options: { delaysMs?: readonly number[]; maxAttempts?: number } = {}): RetryPolicy {
  const delaysMs = options.delaysMs ?? DEFAULT_RETRY_DELAYS_MS;
  if (delaysMs.some((d) => !Number.isFinite(d) || d < 0)) throw new Error('retry delays must be finite and >= 0');
  const maxAttempts = options.maxAttempts ?? delaysMs.length + 1;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) throw new Error('maxAttempts must be an integer >= 1');
  if (maxAttempts > 1 && delaysMs.length === 0) throw new Error('maxAttempts > 1 needs at least one retry delay');
  return { delaysMs, maxAttempts };
}

export type FailurePlan = { kind: 'retry'; level: number; delayMs: number } | { kind: 'dead-letter' };

/** `attempt` is the attempt that just failed, from 1. */
export function planFailure(policy: RetryPolicy, attempt: number, retryable: boolean): FailurePlan {
  if (!retryable || attempt >= policy.maxAttempts) return { kind: 'dead-letter' };
  const level = Math.min(attempt, policy.delaysMs.length);
  return { kind: 'retry', level, delayMs: policy.delaysMs[level - 1] ?? 0 };
}

export interface FailureContext {
  topic: string;
  partition: number;
  offset: string;
  group: string;
  attempt: number;
  error: unknown;
  now: number;
}

const MAX_STACK = 4_000;

/** Headers for the retry or dead-letter copy: original headers, then where it came from and why it failed. */
export function failureHeaders(original: Record<string, string>, ctx: FailureContext, dueAt?: number): Record<string, string> {
  const err = ctx.error instanceof Error ? ctx.error : new Error(String(ctx.error));
  const code = (err as { code?: unknown }).code;
  const headers: Record<string, string> = { ...original };
  // First failure: the source is the current record; later ones keep the first source.
  headers[RETRY_HEADERS.originalTopic] = original[RETRY_HEADERS.originalTopic] ?? ctx.topic;
  headers[RETRY_HEADERS.originalPartition] = original[RETRY_HEADERS.originalPartition] ?? String(ctx.partition);
  headers[RETRY_HEADERS.originalOffset] = original[RETRY_HEADERS.originalOffset] ?? ctx.offset;
  headers[RETRY_HEADERS.group] = ctx.group;
  headers[RETRY_HEADERS.attempt] = String(ctx.attempt);
  headers[RETRY_HEADERS.errorName] = err.name;
  headers[RETRY_HEADERS.errorReason] = err.message;
  headers[RETRY_HEADERS.errorStack] = (err.stack ?? '').slice(0, MAX_STACK);
  headers[RETRY_HEADERS.failedAt] = new Date(ctx.now).toISOString();
  if (typeof code === 'string') headers[RETRY_HEADERS.errorCode] = code;
  else delete headers[RETRY_HEADERS.errorCode];
  if (dueAt !== undefined) headers[RETRY_HEADERS.dueAt] = String(dueAt);
  else delete headers[RETRY_HEADERS.dueAt];
  return headers;
}

/** Attempts already made on this record (0 for a first delivery). */
export function attemptsSoFar(headers: Record<string, string>): number {
  const n = Number(headers[RETRY_HEADERS.attempt] ?? 0);
  return Number.isInteger(n) && n > 0 ? n : 0;
}

/** Headers of a dead letter moved back to its topic: the retry bookkeeping goes, the event stays. */
export function replayHeaders(headers: Record<string, string>, now: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (!k.startsWith('bulwark-')) out[k] = v;
  out[RETRY_HEADERS.replayedAt] = new Date(now).toISOString();
  return out;
}
