/**
 * One reconcile of one CronTask, on the leader:
 * 1. Runs of the task still Running that this term is not executing are
 *    adopted: the lease is re-checked, the run is taken over with a patch
 *    guarded by its resourceVersion (so two leaders cannot both take it),
 *    and resumed: the HTTP call is sent again with the same Idempotency-Key,
 *    or the Job is created if it is missing. A Job run ends when its Job
 *    reports Complete or Failed.
 * 2. The plan (crontask-plan.ts) says which unmet ticks since the cursor to
 *    fire, which wait, and how many were missed or skipped.
 * 3. Each tick to fire is claimed by creating its CronTaskRun (deterministic
 *    name, crontask-runs.ts) right after re-reading the leader Lease; the
 *    claim carries the fencing token. AlreadyExists = fired before.
 * 4. History: finished runs beyond the limits are deleted, but only runs at or
 *    before the cursor as persisted in status, so a deleted claim can never
 *    make its tick look unmet again.
 * 5. Status (observedGeneration, nextScheduleTime, lastScheduleTime,
 *    lastSuccessfulTime, active, missed/skipped counts, Ready) is patched
 *    guarded by the resourceVersion reconciled, so a deposed leader's late
 *    write cannot move the cursor back.
 */
import type { V1Job } from '@kubernetes/client-node';
import type { Counter } from 'prom-client';
import type { ReconcileContext } from '../controller.ts';
import type { KubeWriter } from '../kube.ts';
import type { FencingToken } from '../leader.ts';
import { describeError, type Logger } from '../log.ts';
import { type RunExecutor, runKeyOf } from './crontask-executor.ts';
import { planTicks, type TickPlan } from './crontask-plan.ts';
import { CRONTASK, type CronTask, customRefOf, desiredStatus, latest, statusDigest } from './crontask-resource.ts';
import type { RunIndex } from './crontask-run-index.ts';
import { type CronTaskRun, type HttpTarget, isFinished, jobOutcome, type RunStore } from './crontask-runs.ts';

/** What every reconcile of every task shares (cronTaskReconciler owns it). */
export interface TaskReconcilerShared {
  writer: KubeWriter;
  runs: RunStore;
  index: RunIndex;
  jobs?: { get(key: string): V1Job | undefined };
  now: () => Date;
  ticks: Counter<'outcome'>;
  /**
   * Our own last status write per task, used while the informer has not caught up with it: `stale` holds
   * the resourceVersions our chain of writes has replaced, so a cache still showing one of them is behind us.
   */
  written: Map<string, { obj: CronTask; stale: Set<string> }>;
  /** Records an Event, best effort, not awaited. */
  note(task: CronTask, log: Logger, event: Parameters<KubeWriter['recordEvent']>[1]): void;
}

/** Thrown to end a reconcile quietly when the Lease re-check says this replica no longer leads. */
export class NotLeader extends Error {}

/** What the plan step found: the cursor as persisted, the desired status and the plan (none when suspended or invalid). */
interface Planned {
  persistedCursor: string | undefined;
  newestRun: string | undefined;
  status: NonNullable<CronTask['status']>;
  error: string | undefined;
  plan: TickPlan | undefined;
}

export class TaskReconciliation {
  readonly #s: TaskReconcilerShared;
  readonly #key: string;
  readonly #task: CronTask;
  readonly #ctx: ReconcileContext<CronTask>;
  readonly #exec: RunExecutor;
  readonly #log: Logger;
  readonly #uid: string;
  readonly #at: Date;
  /** One requeue timer per key: the earliest wish, set at the end. */
  #soonest = Number.POSITIVE_INFINITY;
  #token: FencingToken | undefined;

  constructor(shared: TaskReconcilerShared, key: string, task: CronTask, ctx: ReconcileContext<CronTask>, exec: RunExecutor) {
    this.#s = shared;
    this.#key = key;
    this.#task = task;
    this.#ctx = ctx;
    this.#exec = exec;
    this.#log = ctx.log;
    this.#uid = task.metadata?.uid ?? '';
    this.#at = shared.now();
  }

  async run(): Promise<void> {
    // 1. Runs: adopt the unfinished ones, finish Job runs whose Job ended.
    // In tick order: under Forbid resumed runs are called one after another, oldest first.
    const known = this.#s.index.runsOf(this.#uid).sort((a, b) => Date.parse(a.spec.tick) - Date.parse(b.spec.tick));
    await this.#adoptUnfinished(known);
    await this.#finishEndedJobs();
    // 2. Plan the ticks since the cursor.
    const planned = this.#plan(known);
    // 3. Replace, then claim and start.
    const lastScheduled = await this.#claimTicks(planned);
    // 4. History, limited to runs at or before the persisted cursor.
    if (planned.persistedCursor) await this.#pruneHistory(known, planned.persistedCursor);
    // 5. Status.
    await this.#writeStatus(known, planned, lastScheduled);
    if (planned.plan) this.#requeueAfter(planned.plan.wakeAt.getTime() - this.#at.getTime());
    if (Number.isFinite(this.#soonest)) this.#ctx.requeueAfter(this.#soonest);
  }

  #requeueAfter(ms: number): void {
    this.#soonest = Math.min(this.#soonest, ms);
  }

  /** The Lease is re-read once per reconcile, before its first claim or takeover. */
  async #confirm(): Promise<FencingToken> {
    this.#token ??= await this.#ctx.confirmLeadership();
    if (!this.#token) throw new NotLeader();
    return this.#token;
  }

  get #http(): HttpTarget | undefined {
    return this.#task.spec.target.url ? (this.#task.spec.target as HttpTarget) : undefined;
  }

  async #start(run: CronTaskRun, tok: FencingToken): Promise<void> {
    const spec = this.#task.spec;
    const serial = (spec.concurrencyPolicy ?? 'Forbid') === 'Forbid';
    const live = this.#exec.start(this.#key, run, tok, this.#http, serial);
    if (run.spec.target !== 'job') return;
    if (!spec.target.job) return this.#exec.finish(live, { phase: 'Failed', reason: 'TargetChanged', message: 'the task has no Job target any more' });
    try {
      await this.#s.runs.createJob(run, spec.target.job);
    } catch (error) {
      await this.#exec.finish(live, { phase: 'Failed', reason: 'JobNotCreated', message: describeError(error) });
    }
  }

  async #adopt(run: CronTaskRun): Promise<void> {
    const tok = await this.#confirm();
    let taken: CronTaskRun;
    try {
      taken = await this.#s.runs.patchStatus(run, { fencing: tok, attempt: (run.status?.attempt ?? 1) + 1 }, run.metadata?.resourceVersion);
    } catch (error) {
      // Changed since our cache saw it (finished, or taken by someone else): look again shortly.
      this.#log.debug({ run: runKeyOf(run), err: describeError(error) }, 'run not taken over');
      this.#requeueAfter(500);
      return;
    }
    this.#s.ticks.inc({ outcome: 'resumed' });
    this.#log.info({ run: runKeyOf(taken), attempt: taken.status?.attempt, from: formatHolder(run) }, 'resuming run');
    this.#s.note(this.#task, this.#log, {
      type: 'Normal',
      reason: 'Resumed',
      action: 'Resume',
      note: `resuming run ${taken.metadata?.name ?? ''} for tick ${taken.spec.tick} (attempt ${taken.status?.attempt ?? 2}) left unfinished by ${formatHolder(run)}`,
    });
    await this.#start(taken, tok);
  }

  async #adoptUnfinished(known: CronTaskRun[]): Promise<void> {
    const exec = this.#exec;
    for (const run of known) {
      const rk = runKeyOf(run);
      const memo = exec.finished.get(rk);
      if (memo && isFinished(run.status?.phase)) exec.finished.delete(rk);
      if (exec.live.has(rk) || memo || run.status?.phase !== 'Running') continue;
      await this.#adopt(run);
    }
  }

  async #finishEndedJobs(): Promise<void> {
    const namespace = this.#task.metadata?.namespace ?? '';
    for (const live of this.#exec.liveOf(this.#key)) {
      if (live.target !== 'job') continue;
      const outcome = jobOutcome(this.#s.jobs?.get(`${namespace}/${live.name}`));
      if (outcome) await this.#exec.finish(live, { phase: outcome.phase, reason: outcome.phase === 'Succeeded' ? 'Completed' : 'JobFailed', message: outcome.message });
    }
  }

  #plan(known: CronTaskRun[]): Planned {
    const task = this.#task;
    const spec = task.spec;
    const meta = task.metadata ?? {};
    const at = this.#at;
    const persisted = task.status ?? {};
    const newestRun = latest(...known.map((r) => r.spec.tick));
    // As a CronJob: the first cursor is the creation time; after that, status says how far ticks were dealt with.
    const persistedCursor =
      latest(persisted.lastScheduleTime, persisted.lastMissedTime, persisted.lastSkippedTime) ?? (meta.creationTimestamp ? new Date(meta.creationTimestamp).toISOString() : undefined);
    const cursor = latest(persistedCursor, newestRun) ?? at.toISOString();
    const { status, error } = desiredStatus(task, at);
    // When the last run ended: Forbid held back the ticks due until then, which makes them skipped, never missed.
    const busyUntil = latest(this.#exec.lastEnded.get(this.#key), ...known.map((r) => r.status?.finishedAt));
    // Since when a run has been executing in this term: lost ticks older than that came due with nothing executing.
    const active = this.#exec.liveOf(this.#key);
    const activeSince = active.map((l) => l.since).sort()[0];
    let plan: TickPlan | undefined;
    if (!error && !spec.suspend) {
      plan = planTicks({
        schedule: spec.schedule,
        timeZone: spec.timeZone ?? 'UTC',
        cursor: new Date(cursor),
        now: at,
        startingDeadlineSeconds: spec.startingDeadlineSeconds,
        concurrencyPolicy: spec.concurrencyPolicy ?? 'Forbid',
        activeRuns: active.length,
        busyUntil: busyUntil ? new Date(busyUntil) : undefined,
        activeSince: activeSince ? new Date(activeSince) : undefined,
        queueBehind: !spec.target.job,
      });
    }
    return { persistedCursor, newestRun, status, error, plan };
  }

  /** Cancels what the plan replaces, claims and starts each tick to fire; returns the newest tick scheduled. */
  async #claimTicks({ plan, newestRun }: Planned): Promise<string | undefined> {
    const task = this.#task;
    const meta = task.metadata ?? {};
    const exec = this.#exec;
    const log = this.#log;
    const uid = this.#uid;
    const taskRef = { apiVersion: task.apiVersion ?? `${CRONTASK.group}/${CRONTASK.version}`, kind: task.kind ?? CRONTASK.kind, namespace: meta.namespace ?? '', name: meta.name ?? '', uid };
    const targetKind = task.spec.target.job ? 'job' : 'http';
    let lastScheduled = latest(task.status?.lastScheduleTime, newestRun);
    if (plan?.replaceActive) {
      for (const live of exec.liveOf(this.#key)) {
        await exec.cancel(live);
        this.#s.note(task, log, { type: 'Normal', reason: 'Replaced', action: 'Cancel', note: `cancelled run ${live.name} (tick ${live.tick}) to start a newer tick` });
      }
    }
    for (const tick of plan?.fire ?? []) {
      // The Lease is re-read once per reconcile, before its first claim; a batch (a catch-up) then stops at once if the term ends.
      const tok = await this.#confirm();
      if (this.#ctx.signal.aborted) throw new NotLeader();
      const claimed = await this.#s.runs.claim(taskRef, tick, targetKind, tok, this.#at);
      lastScheduled = latest(lastScheduled, tick.toISOString());
      if ('run' in claimed) {
        this.#s.ticks.inc({ outcome: 'fired' });
        await this.#start(claimed.run, tok);
        this.#s.note(task, log, {
          type: 'Normal',
          reason: 'Started',
          action: 'Claim',
          note: `tick ${tick.toISOString()} claimed as ${claimed.run.metadata?.name ?? ''} by ${tok.holder} (lease transition ${tok.leaseTransitions})`,
        });
        continue;
      }
      const existing = claimed.existing;
      // Claimed before (by an earlier leader): the tick after it may be due at once.
      this.#requeueAfter(100);
      if (existing.spec.taskUid !== uid) {
        // Left by an earlier task of the same name, not yet garbage-collected: remove it and claim again next time.
        await this.#s.runs.delete(existing);
        this.#requeueAfter(200);
        continue;
      }
      const rk = runKeyOf(existing);
      if (existing.status?.phase === 'Running' && !exec.live.has(rk) && !exec.finished.has(rk)) await this.#adopt(existing);
    }
    return lastScheduled;
  }

  /** Deletes finished runs beyond the history limits, newest kept, never one after `cursor`. */
  async #pruneHistory(known: CronTaskRun[], cursor: string): Promise<void> {
    const task = this.#task;
    const keep = { Succeeded: task.spec.successfulRunsHistoryLimit ?? 3, Failed: task.spec.failedRunsHistoryLimit ?? 1 };
    const buckets = { Succeeded: [] as CronTaskRun[], Failed: [] as CronTaskRun[] };
    const limit = Date.parse(cursor);
    for (const run of known) {
      const phase = run.status?.phase;
      if (!isFinished(phase) || this.#exec.live.has(runKeyOf(run)) || Date.parse(run.spec.tick) > limit) continue;
      buckets[phase === 'Succeeded' ? 'Succeeded' : 'Failed'].push(run);
    }
    for (const bucket of ['Succeeded', 'Failed'] as const) {
      const sorted = buckets[bucket].sort((a, b) => Date.parse(b.spec.tick) - Date.parse(a.spec.tick));
      for (const run of sorted.slice(keep[bucket])) await this.#s.runs.delete(run);
    }
  }

  async #writeStatus(known: CronTaskRun[], { plan, status, error }: Planned, lastScheduled: string | undefined): Promise<void> {
    const task = this.#task;
    const spec = task.spec;
    const key = this.#key;
    const exec = this.#exec;
    const log = this.#log;
    const { ticks, note, written } = this.#s;
    const persisted = task.status ?? {};
    let missed = persisted.missedTicks ?? 0;
    let skipped = persisted.skippedTicks ?? 0;
    if (plan && plan.missed.count > 0) {
      missed += plan.missed.count;
      ticks.inc({ outcome: 'missed' }, plan.missed.count);
      note(task, log, {
        type: 'Warning',
        reason: 'MissedTicks',
        action: 'Schedule',
        note: `${plan.missed.count}${plan.missed.capped ? '+' : ''} tick(s) up to ${plan.missed.last?.toISOString() ?? '?'} were not fired within startingDeadlineSeconds (${spec.startingDeadlineSeconds ?? 'unset: only the newest unmet tick runs'}); they are not run`,
      });
    }
    if (plan && plan.skipped.count > 0) {
      skipped += plan.skipped.count;
      ticks.inc({ outcome: 'skipped' }, plan.skipped.count);
      note(task, log, { type: 'Normal', reason: 'Skipped', action: 'Schedule', note: `${plan.skipped.count} tick(s) up to ${plan.skipped.last?.toISOString() ?? '?'} skipped: concurrencyPolicy ${spec.concurrencyPolicy ?? 'Forbid'}` });
    }
    const finishedSuccess = [...known.filter((r) => r.status?.phase === 'Succeeded').map((r) => r.status?.finishedAt), ...[...exec.finished.values()].filter((f) => f.taskKey === key && f.phase === 'Succeeded').map((f) => f.finishedAt)];
    const next: NonNullable<CronTask['status']> = {
      ...status,
      lastScheduleTime: lastScheduled,
      lastSuccessfulTime: latest(persisted.lastSuccessfulTime, ...finishedSuccess),
      missedTicks: missed,
      lastMissedTime: latest(persisted.lastMissedTime, plan?.missed.last?.toISOString()),
      skippedTicks: skipped,
      lastSkippedTime: latest(persisted.lastSkippedTime, plan?.skipped.last?.toISOString()),
      active: exec.liveOf(key).map((l) => ({ name: l.name, tick: l.tick })),
    };
    const generationChanged = persisted.observedGeneration !== next.observedGeneration;
    if (statusDigest(persisted) === statusDigest(next)) return;
    // Merge patch: null removes a field that no longer applies.
    const patched = await this.#s.writer.patchStatus<CronTask>(customRefOf(key), { ...next, nextScheduleTime: next.nextScheduleTime ?? null }, { resourceVersion: task.metadata?.resourceVersion });
    const chain = written.get(key)?.obj === task ? (written.get(key)?.stale ?? new Set<string>()) : new Set<string>();
    chain.add(task.metadata?.resourceVersion ?? '');
    written.set(key, { obj: patched, stale: chain });
    if (generationChanged) {
      if (error) note(task, log, { type: 'Warning', reason: 'InvalidSchedule', action: 'Schedule', note: error });
      else note(task, log, { type: 'Normal', reason: 'Scheduled', action: 'Schedule', note: next.nextScheduleTime ? `next run at ${next.nextScheduleTime}` : 'suspended' });
    }
  }
}

function formatHolder(run: CronTaskRun): string {
  const f = run.status?.fencing ?? run.spec.fencing;
  return `${f.holder} (lease transition ${f.leaseTransitions})`;
}
