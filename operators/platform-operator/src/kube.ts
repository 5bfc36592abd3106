/**
 * What reconcilers do to the API server besides reading: status with
 * conditions and observedGeneration (status subresource, merge patch),
 * finalizers (JSON patch guarded by a `test` op, so a concurrent change fails
 * with 422/409 and the key is retried rather than clobbered), Kubernetes
 * Events (events.k8s.io/v1) and server-side apply of owned objects.
 */
import {
  CustomObjectsApi,
  EventsV1Api,
  type KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
  V1MicroTime,
} from '@kubernetes/client-node';
import { randomUUID } from 'node:crypto';
import { ensureCounter, type Registry } from '@bulwark/service-kit/metrics';

/** The field manager of every write by this operator. */
export const FIELD_MANAGER = 'bulwark-operator';

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  observedGeneration?: number;
  lastTransitionTime: string;
}

/**
 * Returns the conditions with `next` set: lastTransitionTime moves only when
 * the status changes (metav1.Condition semantics). The input is not modified.
 */
export function setCondition(conditions: readonly Condition[] | undefined, next: Omit<Condition, 'lastTransitionTime'>, now: Date): Condition[] {
  const list = [...(conditions ?? [])];
  const index = list.findIndex((c) => c.type === next.type);
  const existing = index >= 0 ? list[index] : undefined;
  const lastTransitionTime = existing && existing.status === next.status ? existing.lastTransitionTime : now.toISOString();
  const condition: Condition = { ...next, lastTransitionTime };
  if (index >= 0) list[index] = condition;
  else list.push(condition);
  return list;
}

/** Identifies a namespaced custom object. */
export interface CustomRef {
  group: string;
  version: string;
  plural: string;
  namespace: string;
  name: string;
}

export class KubeWriter {
  readonly #custom: CustomObjectsApi;
  readonly #objects: KubernetesObjectApi;
  readonly #events: EventsV1Api;
  readonly #reportingInstance: string;

  /** `reportingInstance` names this replica in Events (e.g. the Pod name). */
  constructor(kc: KubeConfig, reportingInstance: string) {
    this.#custom = kc.makeApiClient(CustomObjectsApi);
    this.#objects = KubernetesObjectApi.makeApiClient(kc);
    this.#events = kc.makeApiClient(EventsV1Api);
    this.#reportingInstance = reportingInstance;
  }

  /**
   * Merge-patches the status subresource; `status` should carry observedGeneration.
   * With `resourceVersion` the patch applies only to that version of the object
   * (409 Conflict otherwise), so a writer acting on a stale read cannot move
   * status backwards.
   */
  async patchStatus<T>(ref: CustomRef, status: Record<string, unknown>, options: { resourceVersion?: string } = {}): Promise<T> {
    const body = options.resourceVersion ? { metadata: { resourceVersion: options.resourceVersion }, status } : { status };
    return (await this.#custom.patchNamespacedCustomObjectStatus(
      { ...ref, body, fieldManager: FIELD_MANAGER },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    )) as T;
  }

  /**
   * Adds a finalizer unless present. Guarded by the object's resourceVersion:
   * if the object changed since it was read, the patch fails and the caller retries.
   * Returns the patched object, or undefined when the finalizer was there already.
   */
  async addFinalizer<T extends KubernetesObject>(ref: CustomRef, obj: T, finalizer: string): Promise<T | undefined> {
    const finalizers = obj.metadata?.finalizers;
    if (finalizers?.includes(finalizer)) return undefined;
    const ops = [
      { op: 'test', path: '/metadata/resourceVersion', value: obj.metadata?.resourceVersion },
      finalizers ? { op: 'add', path: '/metadata/finalizers/-', value: finalizer } : { op: 'add', path: '/metadata/finalizers', value: [finalizer] },
    ];
    return (await this.#custom.patchNamespacedCustomObject({ ...ref, body: ops, fieldManager: FIELD_MANAGER }, setHeaderOptions('Content-Type', PatchStrategy.JsonPatch))) as T;
  }

  /** Removes a finalizer if present; the `test` op makes sure we remove the entry we saw. */
  async removeFinalizer(ref: CustomRef, obj: KubernetesObject, finalizer: string): Promise<boolean> {
    const index = obj.metadata?.finalizers?.indexOf(finalizer) ?? -1;
    if (index < 0) return false;
    const ops = [
      { op: 'test', path: `/metadata/finalizers/${index}`, value: finalizer },
      { op: 'remove', path: `/metadata/finalizers/${index}` },
    ];
    await this.#custom.patchNamespacedCustomObject({ ...ref, body: ops, fieldManager: FIELD_MANAGER }, setHeaderOptions('Content-Type', PatchStrategy.JsonPatch));
    return true;
  }

  /** Records a decision as an events.k8s.io/v1 Event about `regarding`. */
  async recordEvent(
    regarding: KubernetesObject,
    event: { type: 'Normal' | 'Warning'; reason: string; action: string; note: string },
  ): Promise<void> {
    const meta = regarding.metadata ?? {};
    const namespace = meta.namespace ?? 'default';
    await this.#events.createNamespacedEvent({
      namespace,
      body: {
        metadata: { name: `${meta.name ?? 'object'}.${randomUUID().slice(0, 13)}`, namespace },
        eventTime: new V1MicroTime(),
        type: event.type,
        reason: event.reason,
        action: event.action,
        note: event.note.slice(0, 1024),
        reportingController: `bulwark.dev/${FIELD_MANAGER}`,
        reportingInstance: this.#reportingInstance,
        regarding: {
          apiVersion: regarding.apiVersion,
          kind: regarding.kind,
          name: meta.name,
          namespace: meta.namespace,
          uid: meta.uid,
          resourceVersion: meta.resourceVersion,
        },
      },
    });
  }

  /**
   * Server-side applies an object owned (controller reference) by `owner`,
   * forcing ownership of the fields it sets: this operator is their only writer.
   */
  async applyOwned<T extends KubernetesObject>(obj: T, owner: KubernetesObject): Promise<T> {
    const om = owner.metadata ?? {};
    if (!owner.apiVersion || !owner.kind || !om.name || !om.uid) throw new Error('applyOwned: owner needs apiVersion, kind, metadata.name and metadata.uid');
    const body = {
      ...obj,
      metadata: {
        ...obj.metadata,
        ownerReferences: [{ apiVersion: owner.apiVersion, kind: owner.kind, name: om.name, uid: om.uid, controller: true, blockOwnerDeletion: true }],
      },
    };
    return this.#objects.patch(body, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
  }
}

/**
 * Counts every request this KubeConfig authenticates (all API clients made
 * from it, and watches) in `operator_kube_requests_total{verb}`, where verb is
 * the HTTP method or WATCH. Used for requests-per-reconcile figures.
 */
export function countRequests(kc: KubeConfig, registry: Registry): KubeConfig {
  const requests = ensureCounter(registry, { name: 'operator_kube_requests_total', help: 'Requests sent to the API server, by HTTP method (WATCH for watches).', labelNames: ['verb'] });
  const authenticate = kc.applySecurityAuthentication.bind(kc);
  kc.applySecurityAuthentication = (context) => {
    requests.inc({ verb: /[?&]watch=true/.test(context.getUrl()) ? 'WATCH' : String(context.getHttpMethod()) });
    return authenticate(context);
  };
  return kc;
}
