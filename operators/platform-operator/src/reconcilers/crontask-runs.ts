/**
 * CronTask runs: the claim object that makes a tick fire once, and the two
 * targets a claimed tick starts (an HTTP call or a batch/v1 Job).
 *
 * The claim is a `CronTaskRun` (crds/crontaskrun.yaml), named from the task
 * and the tick, created before anything is started: the API server admits
 * exactly one create per name, so whichever replica gets 201 fires the tick
 * and everyone else gets 409 AlreadyExists, across leader changes and
 * without trusting clocks. Why a small CRD rather than a ConfigMap: the
 * operator needs no write access to ConfigMaps (which hold other
 * applications' configuration) in every namespace; the run has a typed,
 * validated schema, its own printer columns (`kubectl get crontaskruns`
 * shows the history and what is running), and it is owned by its CronTask,
 * so garbage collection removes it (and, through it, a Job) with the task.
 * It has no status subresource: only the operator writes runs, so the phase is
 * written with the create and finished with one merge patch.
 */
import { createHash } from 'node:crypto';
import {
  ApiException,
  BatchV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesObject,
  PatchStrategy,
  setHeaderOptions,
  type V1Job,
  type V1JobSpec,
} from '@kubernetes/client-node';
import { backoffDelay } from '@bulwark/service-kit/backoff';
import { type FencingToken, formatFencingToken } from '../leader.ts';
import { FIELD_MANAGER } from '../kube.ts';

export const CRONTASKRUN = { group: 'bulwark.dev', version: 'v1alpha1', plural: 'crontaskruns', kind: 'CronTaskRun' } as const;

/** Label on runs and Jobs: the uid of the CronTask they belong to (names can exceed a label value's 63 characters). */
export const TASK_UID_LABEL = 'bulwark.dev/crontask-uid';
/** Label on Jobs: the run that started them. */
export const RUN_LABEL = 'bulwark.dev/crontask-run';
/** Annotation on runs and Jobs: the CronTask's name. */
export const TASK_ANNOTATION = 'bulwark.dev/crontask';

/** Headers of an HTTP target call. */
export const HEADERS = {
  idempotencyKey: 'Idempotency-Key',
  fencingToken: 'Bulwark-Fencing-Token',
  run: 'Bulwark-Run',
  runUid: 'Bulwark-Run-Uid',
  tick: 'Bulwark-Tick',
  attempt: 'Bulwark-Attempt',
} as const;

export type RunPhase = 'Running' | 'Succeeded' | 'Failed' | 'Cancelled';

export interface HttpTarget {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  timeoutSeconds?: number;
  /** Further attempts after a network error, 429 or 5xx. */
  retries?: number;
}

export interface JobTarget {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: V1JobSpec;
}

export interface CronTaskRun extends KubernetesObject {
  spec: {
    /** The CronTask's name (same namespace). */
    task: string;
    taskUid: string;
    /** The scheduled instant this run is for (RFC 3339, UTC). */
    tick: string;
    /** `<namespace>/<task>/<tick>`, sent as Idempotency-Key: the same on every resumption of this run. */
    idempotencyKey: string;
    target: 'http' | 'job';
    /** The term that claimed the tick. */
    fencing: FencingToken;
  };
  status?: {
    phase: RunPhase;
    startedAt?: string;
    finishedAt?: string;
    /** 1 for the claiming leader; +1 each time a later leader resumes it. */
    attempt?: number;
    /** The term currently executing it (differs from spec.fencing once resumed). */
    fencing?: FencingToken;
    httpStatus?: number;
    reason?: string;
    message?: string;
  };
}

export const isFinished = (phase: RunPhase | undefined): boolean => phase !== undefined && phase !== 'Running';

/**
 * The deterministic name of the run (and Job) for `task` at `tick`:
 * `<task>-<unix seconds>`, at most 63 characters so a Job of the same name
 * can label its Pods with it. A longer task name is cut and made unique with
 * a hash of the full name.
 */
export function runName(task: string, tick: Date): string {
  const suffix = String(Math.floor(tick.getTime() / 1000));
  const full = `${task}-${suffix}`;
  if (full.length <= 63) return full;
  const hash = createHash('sha256').update(task).digest('hex').slice(0, 8);
  const head = task.slice(0, 63 - suffix.length - hash.length - 2).replace(/[-.]+$/, '');
  return `${head}-${hash}-${suffix}`;
}

export function idempotencyKey(namespace: string, task: string, tick: Date): string {
  return `${namespace}/${task}/${tick.toISOString()}`;
}

const isCode = (error: unknown, code: number): boolean => error instanceof ApiException && error.code === code;

export interface TaskRef {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  uid: string;
}

/** Writes runs and Jobs. */
export class RunStore {
  readonly #custom: CustomObjectsApi;
  readonly #batch: BatchV1Api;

  constructor(kc: KubeConfig) {
    this.#custom = kc.makeApiClient(CustomObjectsApi);
    this.#batch = kc.makeApiClient(BatchV1Api);
  }

  #ref(namespace: string, name: string) {
    return { group: CRONTASKRUN.group, version: CRONTASKRUN.version, plural: CRONTASKRUN.plural, namespace, name };
  }

  /**
   * Claims `tick` for `task` by creating its run. Returns the new run, or
   * `{ existing }` when the name is taken (the tick was claimed before: by
   * us, another replica or an earlier leader).
   */
  async claim(task: TaskRef, tick: Date, target: 'http' | 'job', token: FencingToken, now: Date): Promise<{ run: CronTaskRun } | { existing: CronTaskRun }> {
    const name = runName(task.name, tick);
    const body: CronTaskRun = {
      apiVersion: `${CRONTASKRUN.group}/${CRONTASKRUN.version}`,
      kind: CRONTASKRUN.kind,
      metadata: {
        name,
        namespace: task.namespace,
        labels: { [TASK_UID_LABEL]: task.uid },
        annotations: { [TASK_ANNOTATION]: task.name },
        ownerReferences: [{ apiVersion: task.apiVersion, kind: task.kind, name: task.name, uid: task.uid, controller: true, blockOwnerDeletion: true }],
      },
      spec: { task: task.name, taskUid: task.uid, tick: tick.toISOString(), idempotencyKey: idempotencyKey(task.namespace, task.name, tick), target, fencing: token },
      status: { phase: 'Running', startedAt: now.toISOString(), attempt: 1, fencing: token },
    };
    try {
      const run = (await this.#custom.createNamespacedCustomObject({ ...this.#ref(task.namespace, name), body, fieldManager: FIELD_MANAGER })) as CronTaskRun;
      return { run };
    } catch (error) {
      if (!isCode(error, 409)) throw error;
      return { existing: await this.get(task.namespace, name) };
    }
  }

  get(namespace: string, name: string): Promise<CronTaskRun> {
    return this.#custom.getNamespacedCustomObject(this.#ref(namespace, name)) as Promise<CronTaskRun>;
  }

  /**
   * Merge-patches a run's status. With `resourceVersion` it applies only to
   * that version (409 otherwise): two leaders cannot both take over one run.
   */
  async patchStatus(run: CronTaskRun, status: Partial<NonNullable<CronTaskRun['status']>>, resourceVersion?: string): Promise<CronTaskRun> {
    const meta = run.metadata ?? {};
    const body = resourceVersion ? { metadata: { resourceVersion }, status } : { status };
    return (await this.#custom.patchNamespacedCustomObject(
      { ...this.#ref(meta.namespace ?? '', meta.name ?? ''), body, fieldManager: FIELD_MANAGER },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    )) as CronTaskRun;
  }

  /** Deletes a run (its Job goes with it, by garbage collection); gone already is fine. */
  async delete(run: CronTaskRun): Promise<void> {
    const meta = run.metadata ?? {};
    try {
      await this.#custom.deleteNamespacedCustomObject({
        ...this.#ref(meta.namespace ?? '', meta.name ?? ''),
        propagationPolicy: 'Background',
        body: { preconditions: { uid: meta.uid } },
      });
    } catch (error) {
      if (!isCode(error, 404) && !isCode(error, 409)) throw error;
    }
  }

  /**
   * Creates the Job of a job run, named like the run and owned by it (the
   * run is owned by the task): pruning the run from history removes the Job,
   * and deleting the task removes both. AlreadyExists means it was created
   * before (e.g. by a leader that died right after) and is fine.
   */
  async createJob(run: CronTaskRun, template: JobTarget): Promise<void> {
    const meta = run.metadata ?? {};
    const namespace = meta.namespace ?? '';
    const job: V1Job = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: {
        name: meta.name,
        namespace,
        labels: { ...template.metadata?.labels, [TASK_UID_LABEL]: run.spec.taskUid, [RUN_LABEL]: meta.name ?? '' },
        annotations: {
          ...template.metadata?.annotations,
          [TASK_ANNOTATION]: run.spec.task,
          'bulwark.dev/idempotency-key': run.spec.idempotencyKey,
          'bulwark.dev/fencing-token': formatFencingToken(run.status?.fencing ?? run.spec.fencing),
        },
        ownerReferences: [{ apiVersion: run.apiVersion ?? '', kind: run.kind ?? CRONTASKRUN.kind, name: meta.name ?? '', uid: meta.uid ?? '', controller: true, blockOwnerDeletion: true }],
      },
      spec: template.spec,
    };
    try {
      await this.#batch.createNamespacedJob({ namespace, body: job, fieldManager: FIELD_MANAGER });
    } catch (error) {
      if (!isCode(error, 409)) throw error;
    }
  }

  /** Deletes a run's Job and its Pods (Replace); gone already is fine. */
  async deleteJob(namespace: string, name: string): Promise<void> {
    try {
      await this.#batch.deleteNamespacedJob({ name, namespace, propagationPolicy: 'Background' });
    } catch (error) {
      if (!isCode(error, 404)) throw error;
    }
  }
}

/** The outcome of a Job from its conditions, or undefined while it runs. */
export function jobOutcome(job: V1Job | undefined): { phase: 'Succeeded' | 'Failed'; message: string; at?: string } | undefined {
  for (const c of job?.status?.conditions ?? []) {
    if (c.status !== 'True') continue;
    const at = c.lastTransitionTime ? new Date(c.lastTransitionTime).toISOString() : undefined;
    if (c.type === 'Complete') return { phase: 'Succeeded', message: c.message || 'job complete', at };
    if (c.type === 'Failed') return { phase: 'Failed', message: `${c.reason ?? 'Failed'}: ${c.message ?? ''}`.trim(), at };
  }
  return undefined;
}

export interface HttpOutcome {
  phase: 'Succeeded' | 'Failed';
  httpStatus?: number;
  message: string;
}

/** 1 s, 2 s, 4 s … between attempts at a target; uncapped because the CRD allows at most 10 retries (512 s). */
const TARGET_RETRY_BACKOFF = { baseMs: 1000, capMs: Number.POSITIVE_INFINITY };

/**
 * Calls an HTTP target for a run: `Idempotency-Key` (the same on every
 * attempt and every resumption), the fencing token of the executing term, and
 * the run's identity. 2xx succeeds; 4xx (other than 429) fails at once;
 * network errors, timeouts, 429 and 5xx are retried `retries` times (1 s, 2 s,
 * …). Rejects with the abort reason when `signal` aborts (leadership lost,
 * replaced, task deleted): the caller decides what that means.
 */
export async function callTarget(target: HttpTarget, run: CronTaskRun, token: FencingToken, signal: AbortSignal, sleep: (ms: number, signal: AbortSignal) => Promise<void>): Promise<HttpOutcome> {
  const retries = target.retries ?? 2;
  const timeoutMs = (target.timeoutSeconds ?? 30) * 1000;
  const body = JSON.stringify({
    task: `${run.metadata?.namespace ?? ''}/${run.spec.task}`,
    tick: run.spec.tick,
    run: run.metadata?.name,
    runUid: run.metadata?.uid,
    attempt: run.status?.attempt ?? 1,
    fencingToken: formatFencingToken(token),
  });
  const method = target.method ?? 'POST';
  let last: HttpOutcome = { phase: 'Failed', message: 'not attempted' };
  for (let i = 0; i <= retries; i++) {
    if (i > 0) await sleep(backoffDelay(i, TARGET_RETRY_BACKOFF), signal);
    signal.throwIfAborted();
    try {
      const response = await fetch(target.url, {
        method,
        headers: {
          ...target.headers,
          'content-type': 'application/json',
          [HEADERS.idempotencyKey]: run.spec.idempotencyKey,
          [HEADERS.fencingToken]: formatFencingToken(token),
          [HEADERS.run]: run.metadata?.name ?? '',
          [HEADERS.runUid]: run.metadata?.uid ?? '',
          [HEADERS.tick]: run.spec.tick,
          [HEADERS.attempt]: String(run.status?.attempt ?? 1),
        },
        body: method === 'GET' ? undefined : body,
        signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
      });
      const text = (await response.text()).slice(0, 256);
      if (response.ok) return { phase: 'Succeeded', httpStatus: response.status, message: `HTTP ${response.status}` };
      last = { phase: 'Failed', httpStatus: response.status, message: `HTTP ${response.status}: ${text}` };
      if (response.status < 500 && response.status !== 429) return last;
    } catch (error) {
      signal.throwIfAborted();
      last = { phase: 'Failed', message: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
    }
  }
  return last;
}
