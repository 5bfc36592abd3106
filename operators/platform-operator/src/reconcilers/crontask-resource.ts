/**
 * The CronTask custom resource: its API coordinates and finalizer, its object
 * shape, the status its schedule alone implies, and the comparisons the
 * reconciler and the controller's event filter make on it.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import { type Condition, type CustomRef, setCondition } from '../kube.ts';
import type { ConcurrencyPolicy } from './crontask-plan.ts';
import type { HttpTarget, JobTarget } from './crontask-runs.ts';
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
export function statusDigest(status: CronTask['status']): string {
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

/** The custom object's reference for a `namespace/name` key. */
export function customRefOf(key: string): CustomRef {
  const [namespace = '', name = ''] = key.split('/');
  return { group: CRONTASK.group, version: CRONTASK.version, plural: CRONTASK.plural, namespace, name };
}

/** The newest of some ISO times (undefined ones ignored). */
export const latest = (...times: Array<string | undefined>): string | undefined =>
  times.filter((t): t is string => Boolean(t)).reduce<string | undefined>((a, b) => (a === undefined || Date.parse(b) > Date.parse(a) ? b : a), undefined);

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
