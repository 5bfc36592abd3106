/**
 * The CronTask controller: fires each tick of a cron schedule (in the task's
 * time zone) exactly once across leader changes. It watches CronTasks, their
 * CronTaskRuns and their Jobs (one namespace, or all); a run or Job event
 * reconciles its task. Where each part lives:
 *   crontask-resource.ts        the custom resource, desired status, event filter
 *   crontask-reconciler.ts      the reconciler: leadership terms, finalizer, our own writes
 *   crontask-reconciliation.ts  one reconcile of one task: adopt, plan, claim, prune, status
 *   crontask-plan.ts            which unmet ticks to fire, wait, miss or skip (pure)
 *   crontask-runs.ts            CronTaskRun claims, run names, HTTP call, Job creation
 *   crontask-run-index.ts       runs in the informer's cache by task
 *   crontask-executor.ts        the runs one leadership term executes (in memory)
 *   crontask-schedule.ts        cron arithmetic in a time zone (pure)
 */
import type { KubeConfig, KubernetesObject, V1Job } from '@kubernetes/client-node';
import { BatchV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import type { Registry } from '@bulwark/service-kit/metrics';
import { Controller } from '../controller.ts';
import { Informer } from '../informer.ts';
import { KubeWriter } from '../kube.ts';
import { defaultLogger, type Logger } from '../log.ts';
import type { RateLimitOptions } from '../queue.ts';
import { cronTaskReconciler } from './crontask-reconciler.ts';
import { CRONTASK, type CronTask, specOrMetaChanged } from './crontask-resource.ts';
import { RunIndex } from './crontask-run-index.ts';
import { CRONTASKRUN, type CronTaskRun, RUN_LABEL, RunStore, TASK_ANNOTATION } from './crontask-runs.ts';

export { CRONTASK, CRONTASK_FINALIZER, type CronTask } from './crontask-resource.ts';

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
