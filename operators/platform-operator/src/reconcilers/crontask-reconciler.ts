/**
 * The CronTask reconciler: what lives across reconciles. One RunExecutor per
 * leadership term (a new term starts empty and adopts the runs it finds
 * Running), the finalizer, and our own status writes while the informer has
 * not caught up with them. Each reconcile of a task is a TaskReconciliation
 * (crontask-reconciliation.ts).
 */
import type { V1Job } from '@kubernetes/client-node';
import { ensureCounter, Registry } from '@bulwark/service-kit/metrics';
import type { Reconciler } from '../controller.ts';
import type { KubeWriter } from '../kube.ts';
import { describeError, type Logger } from '../log.ts';
import { RunExecutor } from './crontask-executor.ts';
import { NotLeader, type TaskReconcilerShared, TaskReconciliation } from './crontask-reconciliation.ts';
import { CRONTASK_FINALIZER, type CronTask, customRefOf } from './crontask-resource.ts';
import type { RunIndex } from './crontask-run-index.ts';
import type { RunStore } from './crontask-runs.ts';

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

export function cronTaskReconciler(options: CronTaskReconcilerOptions): Reconciler<CronTask> {
  const { writer } = options;
  const registry = options.registry ?? new Registry();
  const finishedRuns = ensureCounter(registry, { name: 'operator_crontask_runs_finished_total', help: 'CronTask runs ended, by target and phase.', labelNames: ['target', 'phase'] });
  const shared: TaskReconcilerShared = {
    writer,
    runs: options.runs,
    index: options.index,
    jobs: options.jobs,
    now: options.now ?? (() => new Date()),
    ticks: ensureCounter(registry, {
      name: 'operator_crontask_ticks_total',
      help: 'CronTask ticks by outcome: fired (claimed), resumed (a claimed run taken over by a new leader), missed (past startingDeadlineSeconds, never fired), skipped (concurrency policy).',
      labelNames: ['outcome'],
    }),
    written: new Map(),
    // Events are best effort and not awaited: a tick's path to its target must not wait on them.
    note: (task, log, event) => {
      writer.recordEvent(task, event).catch((error: unknown) => log.warn({ err: describeError(error), reason: event.reason }, 'event not recorded'));
    },
  };
  const { written } = shared;
  let executor: RunExecutor | undefined;
  /** Per task, the requeue function of its latest reconcile in this term (a finished run reconciles its task). */
  let requeuers = new Map<string, (ms: number) => void>();

  return async (key, ctx) => {
    const { log } = ctx;
    if (executor?.signal !== ctx.signal) {
      const term = new Map<string, (ms: number) => void>();
      requeuers = term;
      executor = new RunExecutor({
        signal: ctx.signal,
        runs: shared.runs,
        log,
        now: shared.now,
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
    const ref = customRefOf(key);
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
      await new TaskReconciliation(shared, key, task, ctx, exec).run();
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
}
