/**
 * Admin functions over a `JobQueue`, for the notifications app to mount over
 * HTTP: depth by state, age of the oldest waiting job, failure reasons
 * grouped, and list / inspect / replay / purge of dead-lettered jobs.
 */
import type { Job, JobType, Queue } from 'bullmq';
import { toDeadLetter, type DeadLetter, type DeadLetterReason, type DeadLetterRecord } from './dead-letter.ts';
import { deadLetterNotFound } from './errors.ts';
import { DEPTH_STATES } from './metrics.ts';
import type { JobQueue } from './queue.ts';

export type DepthState = (typeof DEPTH_STATES)[number];

export interface QueueDepth {
  queue: string;
  /** Per BullMQ queue (partition) and state. */
  partitions: Record<string, Record<DepthState, number>>;
  /** Sum over partitions. */
  total: Record<DepthState, number>;
  deadLettered: number;
}

export async function getQueueDepth(queue: JobQueue): Promise<QueueDepth> {
  const total = Object.fromEntries(DEPTH_STATES.map((s) => [s, 0])) as Record<DepthState, number>;
  const result: QueueDepth = { queue: queue.definition.name, partitions: {}, total, deadLettered: 0 };
  for (const [name, q] of queue.partitionQueues) {
    const counts = await q.getJobCounts(...DEPTH_STATES);
    const row = Object.fromEntries(DEPTH_STATES.map((s) => [s, counts[s] ?? 0])) as Record<DepthState, number>;
    result.partitions[name] = row;
    for (const s of DEPTH_STATES) total[s] += row[s];
  }
  result.deadLettered = await queue.deadLetterQueue.getJobCountByTypes(...DLQ_STATES);
  return result;
}

/**
 * Age in ms of the job that has been runnable (waiting or prioritized, its
 * delay over) the longest, across partitions; undefined when none waits.
 * Reads the head of the wait list and the head of each priority level, so the
 * cost does not grow with depth.
 */
export async function getOldestWaitingAge(queue: JobQueue, now: number = Date.now()): Promise<number | undefined> {
  let oldest: number | undefined;
  for (const q of queue.partitionQueues.values()) {
    for (const job of await headsOfWaiting(q)) {
      const since = job.timestamp + (job.delay ?? 0);
      if (oldest === undefined || since < oldest) oldest = since;
    }
  }
  return oldest === undefined ? undefined : Math.max(0, now - oldest);
}

async function headsOfWaiting(q: Queue): Promise<Job[]> {
  const heads: Job[] = [];
  const [oldestWaiting] = await q.getJobs(['wait'], 0, 0, true);
  if (oldestWaiting) heads.push(oldestWaiting);
  // BullMQ scores prioritized jobs priority·2^32 + insertion counter: the lowest
  // score within a priority level is that level's oldest job.
  const client = (await q.backend.client) as unknown as { zrangebyscore(key: string, ...args: (string | number)[]): Promise<string[]> };
  for (let priority = 1; priority <= 4; priority++) {
    const low = priority * 0x100000000;
    const ids = await client.zrangebyscore(q.keys.prioritized!, low, low + 0xffffffff, 'LIMIT', 0, 1);
    const job = ids[0] === undefined ? undefined : await q.getJob(ids[0]);
    if (job) heads.push(job);
  }
  return heads;
}

export interface FailureReasonGroup {
  reason: DeadLetterReason;
  /** The final error message. */
  failedReason: string;
  count: number;
  /** Most recent dead-letter time (epoch ms) and a job id to inspect. */
  lastAt: number;
  exampleId: string;
}

/** Dead-lettered jobs grouped by reason and final error message, most frequent first. */
export async function getFailureReasons(queue: JobQueue): Promise<FailureReasonGroup[]> {
  const groups = new Map<string, FailureReasonGroup>();
  for await (const dl of eachDeadLetter(queue)) {
    const key = `${dl.reason}\u0000${dl.failedReason}`;
    const group = groups.get(key);
    if (!group) groups.set(key, { reason: dl.reason, failedReason: dl.failedReason, count: 1, lastAt: dl.deadLetteredAt, exampleId: dl.id });
    else {
      group.count++;
      if (dl.deadLetteredAt > group.lastAt) {
        group.lastAt = dl.deadLetteredAt;
        group.exampleId = dl.id;
      }
    }
  }
  return [...groups.values()].sort((a, b) => b.count - a.count || b.lastAt - a.lastAt);
}

/** Which dead letters an operation applies to: one id, a filter, or explicitly all. */
export type DeadLetterSelector = { id: string } | { name?: string; reason?: DeadLetterReason } | { all: true };

const DLQ_STATES: JobType[] = ['waiting', 'prioritized', 'delayed'];
const PAGE = 200;

async function* eachDeadLetterJob(queue: JobQueue): AsyncGenerator<Job<DeadLetterRecord>> {
  // Oldest first; the snapshot of ids is taken page by page, so jobs removed
  // during iteration shift later pages: collect first, act after.
  const ids: string[] = [];
  for (let start = 0; ; start += PAGE) {
    const page = await queue.deadLetterQueue.getJobs(DLQ_STATES, start, start + PAGE - 1, true);
    for (const job of page) if (job.id) ids.push(job.id);
    if (page.length < PAGE) break;
  }
  for (const id of ids) {
    const job = (await queue.deadLetterQueue.getJob(id)) as Job<DeadLetterRecord> | undefined;
    if (job) yield job;
  }
}

async function* eachDeadLetter(queue: JobQueue): AsyncGenerator<DeadLetter> {
  for await (const job of eachDeadLetterJob(queue)) yield toDeadLetter(job);
}

function matches(dl: DeadLetter, selector: DeadLetterSelector): boolean {
  if ('all' in selector) return true;
  if ('id' in selector) return dl.id === selector.id;
  return (selector.name === undefined || dl.name === selector.name) && (selector.reason === undefined || dl.reason === selector.reason);
}

/** Dead letters matching `selector` (default all), oldest first, at most `limit` (default 100). */
export async function listDeadLetters<T = unknown>(queue: JobQueue, selector: DeadLetterSelector = { all: true }, limit = 100): Promise<DeadLetter<T>[]> {
  if ('id' in selector) return [await inspectDeadLetter<T>(queue, selector.id)];
  const out: DeadLetter<T>[] = [];
  for await (const dl of eachDeadLetter(queue)) {
    if (!matches(dl, selector)) continue;
    out.push(dl as DeadLetter<T>);
    if (out.length >= limit) break;
  }
  return out;
}

/** One dead letter with its payload, options and attempt history; throws JOBS_DEAD_LETTER_NOT_FOUND. */
export async function inspectDeadLetter<T = unknown>(queue: JobQueue, id: string): Promise<DeadLetter<T>> {
  const job = await queue.deadLetterQueue.getJob(id);
  if (!job) throw deadLetterNotFound(queue.definition.name, id);
  return toDeadLetter<T>(job);
}

async function selectJobs(queue: JobQueue, selector: DeadLetterSelector): Promise<Job<DeadLetterRecord>[]> {
  if ('id' in selector) {
    const job = (await queue.deadLetterQueue.getJob(selector.id)) as Job<DeadLetterRecord> | undefined;
    if (!job) throw deadLetterNotFound(queue.definition.name, selector.id);
    return [job];
  }
  const jobs: Job<DeadLetterRecord>[] = [];
  for await (const job of eachDeadLetterJob(queue)) if (matches(toDeadLetter(job), selector)) jobs.push(job);
  return jobs;
}

/**
 * Puts dead letters back on their original queue (partition) under their
 * original job id, payload, priority and attempts, with a fresh attempt count and
 * no delay; then removes them from the dead-letter queue. Returns replayed ids.
 */
export async function replayDeadLetters(queue: JobQueue, selector: DeadLetterSelector): Promise<string[]> {
  const replayed: string[] = [];
  for (const dlJob of await selectJobs(queue, selector)) {
    const record = dlJob.data;
    const id = dlJob.id!;
    const target = queue.partitionQueues.get(record.partition);
    if (!target) continue;
    // A failed copy may remain if a worker died between dead-lettering and removal.
    const leftover = await target.getJob(record.jobId);
    if (leftover && (await leftover.getState()) === 'failed') await leftover.remove();
    const { delay: _delay, timestamp: _timestamp, jobId: _jobId, ...opts } = record.opts;
    const keepId = !/^\d+$/.test(record.jobId);
    await target.add(dlJob.name, record.data, keepId ? { ...opts, jobId: record.jobId } : opts);
    await queue.deadLetterQueue.remove(id);
    replayed.push(id);
  }
  return replayed;
}

/** Deletes dead letters for good. Returns purged ids. */
export async function purgeDeadLetters(queue: JobQueue, selector: DeadLetterSelector): Promise<string[]> {
  const purged: string[] = [];
  for (const job of await selectJobs(queue, selector)) {
    if ((await queue.deadLetterQueue.remove(job.id!)) === 1) purged.push(job.id!);
  }
  return purged;
}
