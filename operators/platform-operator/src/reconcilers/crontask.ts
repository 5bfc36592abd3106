/**
 * CronTask reconciler (skeleton): keeps a finalizer on each CronTask and its
 * status current: nextScheduleTime in the task's time zone, observedGeneration,
 * and a Ready condition (False with reason InvalidSchedule when the schedule
 * or zone is wrong: not retried, the user must change the spec). It re-runs
 * at the next schedule time. Running the HTTP target is not built yet.
 */
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { CustomObjectsApi } from '@kubernetes/client-node';
import type { Reconciler } from '../controller.ts';
import { Controller } from '../controller.ts';
import { Informer } from '../informer.ts';
import { type Condition, type CustomRef, KubeWriter, setCondition } from '../kube.ts';
import type { Logger } from '../log.ts';
import type { Registry } from '../metrics.ts';
import { nextScheduleTime, ScheduleError } from './crontask-schedule.ts';

export const CRONTASK = { group: 'bulwark.dev', version: 'v1alpha1', plural: 'crontasks', kind: 'CronTask' } as const;
export const CRONTASK_FINALIZER = 'bulwark.dev/crontask';

export interface CronTask extends KubernetesObject {
  spec: {
    schedule: string;
    timeZone?: string;
    target: { url: string; method?: string };
    concurrencyPolicy?: 'Allow' | 'Forbid' | 'Replace';
    startingDeadlineSeconds?: number;
    suspend?: boolean;
    successfulRunsHistoryLimit?: number;
    failedRunsHistoryLimit?: number;
  };
  status?: {
    observedGeneration?: number;
    nextScheduleTime?: string;
    lastScheduleTime?: string;
    conditions?: Condition[];
  };
}

/** The status the reconciler wants for `task` at `now`, and the next run (if any). */
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

/** Conditions compared by value, independent of key order in the stored JSON. */
function conditionsDigest(conditions: Condition[] | undefined): string {
  return JSON.stringify((conditions ?? []).map((c) => [c.type, c.status, c.reason, c.message, c.observedGeneration, c.lastTransitionTime]));
}

function refOf(key: string): CustomRef {
  const [namespace = '', name = ''] = key.split('/');
  return { group: CRONTASK.group, version: CRONTASK.version, plural: CRONTASK.plural, namespace, name };
}

export function cronTaskReconciler(writer: KubeWriter, now: () => Date = () => new Date()): Reconciler<CronTask> {
  return async (key, { obj: task, requeueAfter, log }) => {
    if (!task) return;
    const ref = refOf(key);
    if (task.metadata?.deletionTimestamp) {
      // Nothing to clean up yet (runs are not implemented); release the object.
      if (await writer.removeFinalizer(ref, task, CRONTASK_FINALIZER)) log.info({ key }, 'finalizer removed');
      return;
    }
    // The patch changes the object; its update event brings the key back with the finalizer in place.
    if (await writer.addFinalizer(ref, task, CRONTASK_FINALIZER)) return;

    const at = now();
    const { status, next, error } = desiredStatus(task, at);
    const previous = task.status ?? {};
    const nextChanged = previous.nextScheduleTime !== status.nextScheduleTime;
    const generationChanged = previous.observedGeneration !== status.observedGeneration;
    if (nextChanged || generationChanged || conditionsDigest(previous.conditions) !== conditionsDigest(status.conditions)) {
      // Merge patch: null removes a field that no longer applies.
      await writer.patchStatus(ref, { ...status, nextScheduleTime: status.nextScheduleTime ?? null });
      if (error) {
        if (generationChanged) await writer.recordEvent(task, { type: 'Warning', reason: 'InvalidSchedule', action: 'Schedule', note: error });
      } else if (nextChanged) {
        await writer.recordEvent(task, { type: 'Normal', reason: 'Scheduled', action: 'Schedule', note: status.nextScheduleTime ? `next run at ${status.nextScheduleTime}` : 'suspended' });
      }
    }
    if (next) requeueAfter(next.getTime() - at.getTime());
  };
}

/** The CronTask controller, watching one namespace or (namespace undefined) all. */
export function cronTaskController(options: { kc: KubeConfig; identity: string; namespace?: string; registry: Registry; log?: Logger }): Controller<CronTask> {
  const { kc, namespace } = options;
  const custom = kc.makeApiClient(CustomObjectsApi);
  const base = `/apis/${CRONTASK.group}/${CRONTASK.version}`;
  const informer = new Informer<CronTask>({
    name: 'crontasks',
    kc,
    path: namespace ? `${base}/namespaces/${namespace}/${CRONTASK.plural}` : `${base}/${CRONTASK.plural}`,
    list: () =>
      namespace
        ? custom.listNamespacedCustomObject({ group: CRONTASK.group, version: CRONTASK.version, plural: CRONTASK.plural, namespace })
        : custom.listClusterCustomObject({ group: CRONTASK.group, version: CRONTASK.version, plural: CRONTASK.plural }),
    registry: options.registry,
    log: options.log,
  });
  return new Controller<CronTask>({
    name: 'crontask',
    informer,
    reconcile: cronTaskReconciler(new KubeWriter(kc, options.identity)),
    registry: options.registry,
    log: options.log,
  });
}
