/**
 * CronTask reconciler: fires each tick of a cron schedule (in the task's
 * time zone) exactly once across leader changes.
 *
 * Per reconcile, on the leader:
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
import type { KubeConfig, KubernetesObject, V1Job } from '@kubernetes/client-node';
import { BatchV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import type { Counter } from 'prom-client';
import type { Reconciler, ReconcileContext } from '../controller.ts';
import { Controller } from '../controller.ts';
import { Informer, objectKey } from '../informer.ts';
import { type Condition, type CustomRef, KubeWriter, setCondition } from '../kube.ts';
import type { FencingToken } from '../leader.ts';
import { describeError, defaultLogger, type Logger } from '../log.ts';
import { ensureCounter, Registry } from '@bulwark/service-kit/metrics';
import type { RateLimitOptions } from '../queue.ts';
import { type LiveRun, RunExecutor, runKeyOf } from './crontask-executor.ts';
import { type ConcurrencyPolicy, planTicks, type TickPlan } from './crontask-plan.ts';
import { CRONTASKRUN, type CronTaskRun, type HttpTarget, isFinished, jobOutcome, type JobTarget, RUN_LABEL, RunStore, TASK_ANNOTATION, TASK_UID_LABEL } from './crontask-runs.ts';
import { nextScheduleTime, ScheduleError } from './crontask-schedule.ts';

export const CRONTASK = { group: 'bulwark.dev', version: 'v1alpha1', plural: 'crontasks', kind: 'CronTask' } as const;
export const CRONTASK_FINALIZER = 'bulwark.dev/crontask';

export interface CronTask extends KubernetesObject {
  spec: {
    schedule: string;
    timeZone?: string;
    /** Exactly one of `url` (an HTTP call) or `job` (a Job template). */
    target: Partial<HttpTarget> & { job?: JobTarget };
    concurrencyPolicy?: ConcurrencyPolicy;
    startingDeadlineSeconds?: number;
    suspend?: boolean;
    successfulRunsHistoryLimit?: number;
    failedRunsHistoryLimit?: number;
  };
  status?: {
    observedGeneration?: number;
    nextScheduleTime?: string;
    /** Newest tick claimed (fired). */
    lastScheduleTime?: string;
    /** When the newest successful run ended. */
    lastSuccessfulTime?: string;
    /** Ticks no leader fired within startingDeadlineSeconds, counted, and the newest of them. */
    missedTicks?: number;
    lastMissedTime?: string;
    /** Ticks not run because of the concurrency policy, counted, and the newest of them. */
    skippedTicks?: number;
    lastSkippedTime?: string;
    /** Runs in progress. */
    active?: Array<{ name: string; tick: string }>;
    conditions?: Condition[];
  };
}

/** The status the schedule alone implies for `task` at `now` (Ready, nextScheduleTime), and the next run (if any). */
export function desiredStatus(task: CronTask, now: Date): { status: NonNullable<CronTask['status']>; next?: Date; error?: string } {
  const generation = task.metadata?.generation;
  const base = { ...task.status, observedGeneration: generation };
  try {
    if (task.spec.suspend) {
      const conditions = setCondition(task.status?.conditions, { type: 'Ready', status: 'True', reason: 'Suspended', message: 'suspended: no runs are scheduled', observedGeneration: generation }, now);
      return { status: { ...base, nextScheduleTime: undefined, conditions } };
    }
    const next = nextScheduleTime(task.spec.schedule, task.spec.timeZone ?? 'UTC', now);
    const conditions = setCondition(task.status?.conditions, { type: 'Ready', status: 'True', reason: 'Scheduled', message: `next run at ${next.toISOString()}`, observedGeneration: generation }, now);
    return { status: { ...base, nextScheduleTime: next.toISOString(), conditions }, next };
  } catch (error) {
    if (!(error instanceof ScheduleError)) throw error;
    const conditions = setCondition(task.status?.conditions, { type: 'Ready', status: 'False', reason: 'InvalidSchedule', message: error.message, observedGeneration: generation }, now);
    return { status: { ...base, nextScheduleTime: undefined, conditions }, error: error.message };
  }
}

/** Status compared by value, independent of key order in the stored JSON. */
function statusDigest(status: CronTask['status']): string {
  const s = status ?? {};
  return JSON.stringify([
    s.observedGeneration,
    s.nextScheduleTime,
    s.lastScheduleTime,
    s.lastSuccessfulTime,
    s.missedTicks ?? 0,
    s.lastMissedTime,
    s.skippedTicks ?? 0,
    s.lastSkippedTime,
    (s.active ?? []).map((a) => [a.name, a.tick]),
    (s.conditions ?? []).map((c) => [c.type, c.status, c.reason, c.message, c.observedGeneration, c.lastTransitionTime]),
  ]);
}

function refOf(key: string): CustomRef {
  const [namespace = '', name = ''] = key.split('/');
  return { group: CRONTASK.group, version: CRONTASK.version, plural: CRONTASK.plural, namespace, name };
}

const latest = (...times: Array<string | undefined>): string | undefined =>
  times.filter((t): t is string => Boolean(t)).reduce<string | undefined>((a, b) => (a === undefined || Date.parse(b) > Date.parse(a) ? b : a), undefined);

/** Runs in an informer's cache, indexed by the uid of their task. */
export class RunIndex {
  readonly informer: Informer<CronTaskRun>;
  readonly #byTask = new Map<string, Set<string>>();

  constructor(informer: Informer<CronTaskRun>) {
    this.informer = informer;
    informer.on((type, run) => {
      const uid = run.spec?.taskUid ?? run.metadata?.labels?.[TASK_UID_LABEL];
      if (!uid) return;
      const key = objectKey(run);
      let keys = this.#byTask.get(uid);
      if (type === 'delete') {
        keys?.delete(key);
        if (keys?.size === 0) this.#byTask.delete(uid);
        return;
      }
      if (!keys) this.#byTask.set(uid, (keys = new Set()));
      keys.add(key);
    });
  }

  runsOf(taskUid: string): CronTaskRun[] {
    return [...(this.#byTask.get(taskUid) ?? [])].map((k) => this.informer.get(k)).filter((r): r is CronTaskRun => r !== undefined);
  }
}

export interface CronTaskReconcilerOptions {
  writer: KubeWriter;
  runs: RunStore;
  index: RunIndex;
  /** Job cache (`namespace/name`), for Job targets. */
  jobs?: { get(key: string): V1Job | undefined };
  now?: () => Date;
  registry?: Registry;
  log?: Logger;
}

/** Thrown to end a reconcile quietly when the Lease re-check says this replica no longer leads. */
class NotLeader extends Error {}

export function cronTaskReconciler(options: CronTaskReconcilerOptions): Reconciler<CronTask> {
  const { writer, runs, index } = options;
  const now = options.now ?? (() => new Date());
  const registry = options.registry ?? new Registry();
  const ticks: Counter<'outcome'> = ensureCounter(registry, {
    name: 'operator_crontask_ticks_total',
    help: 'CronTask ticks by outcome: fired (claimed), resumed (a claimed run taken over by a new leader), missed (past startingDeadlineSeconds, never fired), skipped (concurrency policy).',
    labelNames: ['outcome'],
  });
  const finishedRuns: Counter<'target' | 'phase'> = ensureCounter(registry, { name: 'operator_crontask_runs_finished_total', help: 'CronTask runs ended, by target and phase.', labelNames: ['target', 'phase'] });
  /**
   * Our own last status write per task, used while the informer has not caught up with it: `stale` holds
   * the resourceVersions our chain of writes has replaced, so a cache still showing one of them is behind us.
   */
  const written = new Map<string, { obj: CronTask; stale: Set<string> }>();
  let executor: RunExecutor | undefined;
  /** Per task, the requeue function of its latest reconcile in this term (a finished run reconciles its task). */
  let requeuers = new Map<string, (ms: number) => void>();

  /** Events are best effort and not awaited: a tick's path to its target must not wait on them. */
  const note = (task: CronTask, log: Logger, event: Parameters<KubeWriter['recordEvent']>[1]): void => {
    writer.recordEvent(task, event).catch((error: unknown) => log.warn({ err: describeError(error), reason: event.reason }, 'event not recorded'));
  };

  return async (key, ctx) => {
    const { log } = ctx;
    if (executor?.signal !== ctx.signal) {
      const term = new Map<string, (ms: number) => void>();
      requeuers = term;
      executor = new RunExecutor({
        signal: ctx.signal,
        runs,
        log,
        now,
        onFinished: (live, end) => {
          finishedRuns.inc({ target: live.target, phase: end.phase });
          term.get(live.taskKey)?.(0);
        },
      });
    }
    requeuers.set(key, ctx.requeueAfter);
    const exec = executor;
    const cached = ctx.obj;
    const mine = written.get(key);
    const behind = mine !== undefined && mine.stale.has(cached?.metadata?.resourceVersion ?? '');
    let task = behind ? mine.obj : cached;
    if (mine && !behind) written.delete(key);
    if (!task) {
      exec.abandon(key);
      return;
    }
    const ref = refOf(key);
    if (task.metadata?.deletionTimestamp) {
      // Runs and Jobs are owned by the task (garbage-collected with it); stop executing them and release the object.
      exec.abandon(key);
      written.delete(key);
      if (await writer.removeFinalizer(ref, task, CRONTASK_FINALIZER)) log.info({ key }, 'finalizer removed');
      return;
    }
    // Go on with the patched object (one reconcile per new task); the informer's copy is now behind our write.
    const withFinalizer = await writer.addFinalizer(ref, task, CRONTASK_FINALIZER);
    if (withFinalizer) {
      written.set(key, { obj: withFinalizer, stale: new Set([task.metadata?.resourceVersion ?? '']) });
      task = withFinalizer;
    }
    try {
      await reconcileTask(key, task, ctx, exec);
    } catch (error) {
      if (error instanceof NotLeader) {
        // Usually leadership is ending (the queue stops with it); if the re-check only lagged a slow renewal, look again soon.
        log.info({ key }, 'lease re-check failed: not claiming');
        ctx.requeueAfter(1000);
        return;
      }
      throw error;
    }
  };

  async function reconcileTask(key: string, task: CronTask, ctx: ReconcileContext<CronTask>, exec: RunExecutor): Promise<void> {
    const { log } = ctx;
    // One requeue timer per key: collect the earliest wish and set it at the end.
    let soonest = Number.POSITIVE_INFINITY;
    const requeueAfter = (ms: number): void => {
      soonest = Math.min(soonest, ms);
    };
    const meta = task.metadata ?? {};
    const namespace = meta.namespace ?? '';
    const uid = meta.uid ?? '';
    const taskRef = { apiVersion: task.apiVersion ?? `${CRONTASK.group}/${CRONTASK.version}`, kind: task.kind ?? CRONTASK.kind, namespace, name: meta.name ?? '', uid };
    const spec = task.spec;
    const targetKind = spec.target.job ? 'job' : 'http';
    const http: HttpTarget | undefined = spec.target.url ? (spec.target as HttpTarget) : undefined;
    const at = now();
    let token: FencingToken | undefined;
    const confirm = async (): Promise<FencingToken> => {
      token ??= await ctx.confirmLeadership();
      if (!token) throw new NotLeader();
      return token;
    };

    const serial = (spec.concurrencyPolicy ?? 'Forbid') === 'Forbid';
    const start = async (run: CronTaskRun, tok: FencingToken): Promise<void> => {
      const live = exec.start(key, run, tok, http, serial);
      if (run.spec.target !== 'job') return;
      if (!spec.target.job) return exec.finish(live, { phase: 'Failed', reason: 'TargetChanged', message: 'the task has no Job target any more' });
      try {
        await runs.createJob(run, spec.target.job);
      } catch (error) {
        await exec.finish(live, { phase: 'Failed', reason: 'JobNotCreated', message: describeError(error) });
      }
    };

    const adopt = async (run: CronTaskRun): Promise<void> => {
      const tok = await confirm();
      let taken: CronTaskRun;
      try {
        taken = await runs.patchStatus(run, { fencing: tok, attempt: (run.status?.attempt ?? 1) + 1 }, run.metadata?.resourceVersion);
      } catch (error) {
        // Changed since our cache saw it (finished, or taken by someone else): look again shortly.
        log.debug({ run: runKeyOf(run), err: describeError(error) }, 'run not taken over');
        requeueAfter(500);
        return;
      }
      ticks.inc({ outcome: 'resumed' });
      log.info({ run: runKeyOf(taken), attempt: taken.status?.attempt, from: formatHolder(run) }, 'resuming run');
      note(task, log, { type: 'Normal', reason: 'Resumed', action: 'Resume', note: `resuming run ${taken.metadata?.name ?? ''} for tick ${taken.spec.tick} (attempt ${taken.status?.attempt ?? 2}) left unfinished by ${formatHolder(run)}` });
      await start(taken, tok);
    };

    // 1. Runs: adopt the unfinished ones, finish Job runs whose Job ended.
    // In tick order: under Forbid resumed runs are called one after another, oldest first.
    const known = index.runsOf(uid).sort((a, b) => Date.parse(a.spec.tick) - Date.parse(b.spec.tick));
    for (const run of known) {
      const rk = runKeyOf(run);
      const memo = exec.finished.get(rk);
      if (memo && isFinished(run.status?.phase)) exec.finished.delete(rk);
      if (exec.live.has(rk) || memo || run.status?.phase !== 'Running') continue;
      await adopt(run);
    }
    for (const live of exec.liveOf(key)) {
      if (live.target !== 'job') continue;
      const outcome = jobOutcome(options.jobs?.get(`${namespace}/${live.name}`));
      if (outcome) await exec.finish(live, { phase: outcome.phase, reason: outcome.phase === 'Succeeded' ? 'Completed' : 'JobFailed', message: outcome.message });
    }

    // 2. Plan the ticks since the cursor.
    const persisted = task.status ?? {};
    const newestRun = latest(...known.map((r) => r.spec.tick));
    // As a CronJob: the first cursor is the creation time; after that, status says how far ticks were dealt with.
    const persistedCursor =
      latest(persisted.lastScheduleTime, persisted.lastMissedTime, persisted.lastSkippedTime) ?? (meta.creationTimestamp ? new Date(meta.creationTimestamp).toISOString() : undefined);
    const cursor = latest(persistedCursor, newestRun) ?? at.toISOString();
    const { status, error } = desiredStatus(task, at);
    // When the last run ended: Forbid held back the ticks due until then, which makes them skipped, never missed.
    const busyUntil = latest(exec.lastEnded.get(key), ...known.map((r) => r.status?.finishedAt));
    let plan: TickPlan | undefined;
    if (!error && !spec.suspend) {
      plan = planTicks({
        schedule: spec.schedule,
        timeZone: spec.timeZone ?? 'UTC',
        cursor: new Date(cursor),
        now: at,
        startingDeadlineSeconds: spec.startingDeadlineSeconds,
        concurrencyPolicy: spec.concurrencyPolicy ?? 'Forbid',
        activeRuns: exec.liveOf(key).length,
        busyUntil: busyUntil ? new Date(busyUntil) : undefined,
        queueBehind: targetKind === 'http',
      });
    }

    // 3. Replace, then claim and start.
    let lastScheduled = latest(persisted.lastScheduleTime, newestRun);
    if (plan?.replaceActive) {
      for (const live of exec.liveOf(key)) {
        await exec.cancel(live);
        note(task, log, { type: 'Normal', reason: 'Replaced', action: 'Cancel', note: `cancelled run ${live.name} (tick ${live.tick}) to start a newer tick` });
      }
    }
    for (const tick of plan?.fire ?? []) {
      // The Lease is re-read once per reconcile, before its first claim; a batch (a catch-up) then stops at once if the term ends.
      const tok = await confirm();
      if (ctx.signal.aborted) throw new NotLeader();
      const claimed = await runs.claim(taskRef, tick, targetKind, tok, at);
      lastScheduled = latest(lastScheduled, tick.toISOString());
      if ('run' in claimed) {
        ticks.inc({ outcome: 'fired' });
        await start(claimed.run, tok);
        note(task, log, { type: 'Normal', reason: 'Started', action: 'Claim', note: `tick ${tick.toISOString()} claimed as ${claimed.run.metadata?.name ?? ''} by ${tok.holder} (lease transition ${tok.leaseTransitions})` });
        continue;
      }
      const existing = claimed.existing;
      // Claimed before (by an earlier leader): the tick after it may be due at once.
      requeueAfter(100);
      if (existing.spec.taskUid !== uid) {
        // Left by an earlier task of the same name, not yet garbage-collected: remove it and claim again next time.
        await runs.delete(existing);
        requeueAfter(200);
        continue;
      }
      const rk = runKeyOf(existing);
      if (existing.status?.phase === 'Running' && !exec.live.has(rk) && !exec.finished.has(rk)) await adopt(existing);
    }

    // 4. History, limited to runs at or before the persisted cursor.
    if (persistedCursor) await pruneHistory(task, known, exec, persistedCursor);

    // 5. Status.
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
    if (statusDigest(persisted) !== statusDigest(next)) {
      // Merge patch: null removes a field that no longer applies.
      const patched = await writer.patchStatus<CronTask>(refOf(key), { ...next, nextScheduleTime: next.nextScheduleTime ?? null }, { resourceVersion: task.metadata?.resourceVersion });
      const chain = written.get(key)?.obj === task ? (written.get(key)?.stale ?? new Set<string>()) : new Set<string>();
      chain.add(task.metadata?.resourceVersion ?? '');
      written.set(key, { obj: patched, stale: chain });
      if (generationChanged) {
        if (error) note(task, log, { type: 'Warning', reason: 'InvalidSchedule', action: 'Schedule', note: error });
        else note(task, log, { type: 'Normal', reason: 'Scheduled', action: 'Schedule', note: next.nextScheduleTime ? `next run at ${next.nextScheduleTime}` : 'suspended' });
      }
    }
    if (plan) requeueAfter(plan.wakeAt.getTime() - at.getTime());
    if (Number.isFinite(soonest)) ctx.requeueAfter(soonest);
  }

  /** Deletes finished runs beyond the history limits, newest kept, never one after `cursor`. */
  async function pruneHistory(task: CronTask, known: CronTaskRun[], exec: RunExecutor, cursor: string): Promise<void> {
    const keep = { Succeeded: task.spec.successfulRunsHistoryLimit ?? 3, Failed: task.spec.failedRunsHistoryLimit ?? 1 };
    const buckets = { Succeeded: [] as CronTaskRun[], Failed: [] as CronTaskRun[] };
    const limit = Date.parse(cursor);
    for (const run of known) {
      const phase = run.status?.phase;
      if (!isFinished(phase) || exec.live.has(runKeyOf(run)) || Date.parse(run.spec.tick) > limit) continue;
      buckets[phase === 'Succeeded' ? 'Succeeded' : 'Failed'].push(run);
    }
    for (const bucket of ['Succeeded', 'Failed'] as const) {
      const sorted = buckets[bucket].sort((a, b) => Date.parse(b.spec.tick) - Date.parse(a.spec.tick));
      for (const run of sorted.slice(keep[bucket])) await runs.delete(run);
    }
  }
}

function formatHolder(run: CronTaskRun): string {
  const f = run.status?.fencing ?? run.spec.fencing;
  return `${f.holder} (lease transition ${f.leaseTransitions})`;
}

/**
 * True when anything but status, our own finalizer being added, resourceVersion or managedFields differs:
 * those changes are the reconciler's own writes and need no reconcile of their own.
 */
export function specOrMetaChanged(old: CronTask, obj: CronTask): boolean {
  const relevant = (t: CronTask): string => {
    const { resourceVersion: _rv, managedFields: _mf, finalizers, ...meta } = t.metadata ?? {};
    return JSON.stringify([meta, (finalizers ?? []).filter((f) => f !== CRONTASK_FINALIZER), t.spec]);
  };
  return relevant(old) !== relevant(obj);
}

export interface CronTaskControllerOptions {
  kc: KubeConfig;
  identity: string;
  /** Watch one namespace; undefined = all. */
  namespace?: string;
  registry: Registry;
  log?: Logger;
  /** Parallel reconciles of different tasks. Default 4. */
  concurrency?: number;
  /** Reconciles per second across all tasks. Default 50/s, burst 200 (about 75 API requests/s at ~1.5 per reconcile). */
  rateLimit?: Partial<RateLimitOptions>;
}

/** The CronTask controller, watching one namespace or (namespace undefined) all: CronTasks, their runs and their Jobs. */
export function cronTaskController(options: CronTaskControllerOptions): Controller<CronTask> {
  const { kc, namespace, registry } = options;
  const log = options.log ?? defaultLogger();
  const custom = kc.makeApiClient(CustomObjectsApi);
  const batch = kc.makeApiClient(BatchV1Api);
  const base = `/apis/${CRONTASK.group}/${CRONTASK.version}`;
  const scope = (plural: string, group = base): string => (namespace ? `${group}/namespaces/${namespace}/${plural}` : `${group}/${plural}`);
  const listCustom = (plural: string, labelSelector?: string) => () =>
    namespace
      ? custom.listNamespacedCustomObject({ group: CRONTASK.group, version: CRONTASK.version, plural, namespace, labelSelector })
      : custom.listClusterCustomObject({ group: CRONTASK.group, version: CRONTASK.version, plural, labelSelector });
  const informer = new Informer<CronTask>({ name: 'crontasks', kc, path: scope(CRONTASK.plural), list: listCustom(CRONTASK.plural), registry, log });
  const runInformer = new Informer<CronTaskRun>({ name: 'crontaskruns', kc, path: scope(CRONTASKRUN.plural), list: listCustom(CRONTASKRUN.plural), registry, log });
  const jobInformer = new Informer<V1Job>({
    name: 'crontask-jobs',
    kc,
    path: scope('jobs', '/apis/batch/v1'),
    labelSelector: RUN_LABEL,
    list: () => (namespace ? batch.listNamespacedJob({ namespace, labelSelector: RUN_LABEL }) : batch.listJobForAllNamespaces({ labelSelector: RUN_LABEL })),
    registry,
    log,
  });
  const index = new RunIndex(runInformer);
  const taskKeyOf = (obj: KubernetesObject): string | undefined => {
    const task = obj.metadata?.annotations?.[TASK_ANNOTATION];
    return task ? `${obj.metadata?.namespace ?? ''}/${task}` : undefined;
  };
  return new Controller<CronTask>({
    name: 'crontask',
    informer,
    // Status is written only by this reconciler: an update touching nothing else (our own write) needs no reconcile.
    shouldEnqueue: (type, obj, old) => type !== 'update' || !old || specOrMetaChanged(old, obj),
    watches: [
      { informer: runInformer, keyOf: taskKeyOf },
      { informer: jobInformer, keyOf: taskKeyOf },
    ],
    reconcile: cronTaskReconciler({ writer: new KubeWriter(kc, options.identity), runs: new RunStore(kc), index, jobs: jobInformer, registry, log }),
    concurrency: options.concurrency ?? 4,
    rateLimit: { perSecond: 50, burst: 200, ...options.rateLimit },
    registry,
    log,
  });
}

export type { LiveRun };
