/**
 * The DatabaseCredential controller: rotates a service's PostgreSQL password
 * with two alternating login roles (databasecredential-plan.ts says when and
 * which) and keeps the Kubernetes Secret the service mounts pointing at the
 * one to use. Services read the mounted `credentials.json` on each new
 * connection (@bulwark/db fileCredentials), so a rotation needs no restart.
 *
 * The Secret is the record: its data names the active role and its
 * annotations when it flipped and which rotate-now request it answered, all
 * written in one request, so a crash between steps never rotates the role
 * clients use. Order of a rotation: new password on the inactive role, a
 * login with it, then the Secret (the flip), then status and an Event.
 */
import { CoreV1Api, CustomObjectsApi, type KubeConfig, type KubernetesObject, type V1Secret } from '@kubernetes/client-node';
import { ensureCounter, type Registry } from '@bulwark/service-kit/metrics';
import { Controller, type Reconciler } from '../controller.ts';
import { Informer } from '../informer.ts';
import { type Condition, type CustomRef, KubeWriter, setCondition } from '../kube.ts';
import { defaultLogger, describeError, type Logger } from '../log.ts';
import { CREDENTIAL_DEFAULTS, type DatabaseCredentialSpec, loginRoles, planRotation } from './databasecredential-plan.ts';
import { checkLogin, ensureRoles, newPassword, setPassword } from './databasecredential-roles.ts';

export const DATABASECREDENTIAL = { group: 'bulwark.dev', version: 'v1alpha1', plural: 'databasecredentials', kind: 'DatabaseCredential' } as const;
/** Set to a new value (e.g. a timestamp) to rotate now (still never sooner than minFlipIntervalSeconds after the last flip). */
export const ROTATE_ANNOTATION = 'bulwark.dev/rotate-requested';
export const ROTATED_AT_ANNOTATION = 'bulwark.dev/rotated-at';
export const ANSWERED_REQUEST_ANNOTATION = 'bulwark.dev/rotation-request';

export interface DatabaseCredential extends KubernetesObject {
  spec: DatabaseCredentialSpec;
  status?: {
    observedGeneration?: number;
    activeRole?: string;
    lastRotationTime?: string;
    rotations?: number;
    conditions?: Condition[];
  };
}

const refOf = (ns: string, name: string): CustomRef => ({ group: DATABASECREDENTIAL.group, version: DATABASECREDENTIAL.version, plural: DATABASECREDENTIAL.plural, namespace: ns, name });
const notFound = (e: unknown) => (e as { code?: number }).code === 404;

export interface DatabaseCredentialOptions {
  kc: KubeConfig;
  identity: string;
  namespace?: string;
  registry: Registry;
  log?: Logger;
  now?: () => Date;
}

export function databaseCredentialReconciler(options: DatabaseCredentialOptions): Reconciler<DatabaseCredential> {
  const core = options.kc.makeApiClient(CoreV1Api);
  const custom = options.kc.makeApiClient(CustomObjectsApi);
  const writer = new KubeWriter(options.kc, options.identity);
  const now = options.now ?? (() => new Date());
  const rotations = ensureCounter(options.registry, { name: 'operator_database_credential_rotations_total', help: 'Database credential flips (bootstrap or rotation), by outcome.', labelNames: ['outcome'] });

  const readSecret = (namespace: string, name: string) => core.readNamespacedSecret({ namespace, name }).then((s) => s, (e: unknown) => (notFound(e) ? undefined : Promise.reject(e)));
  const decode = (s: V1Secret | undefined, key: string) => (s?.data?.[key] === undefined ? undefined : Buffer.from(s.data[key], 'base64').toString('utf8'));
  const b64 = (v: string) => Buffer.from(v, 'utf8').toString('base64');

  async function adminUrl(cred: DatabaseCredential): Promise<string> {
    const ref = cred.spec.adminSecretRef;
    const url = decode(await readSecret(cred.metadata!.namespace!, ref.name), ref.key);
    if (!url) throw new Error(`admin Secret ${ref.name} has no key ${ref.key}`);
    return url;
  }

  async function writeStatus(cred: DatabaseCredential, status: NonNullable<DatabaseCredential['status']>, ready: Omit<Condition, 'lastTransitionTime' | 'type'>): Promise<void> {
    const generation = cred.metadata?.generation;
    await writer.patchStatus(refOf(cred.metadata!.namespace!, cred.metadata!.name!), {
      ...status,
      observedGeneration: generation,
      conditions: setCondition(cred.status?.conditions, { type: 'Ready', ...ready, observedGeneration: generation }, now()),
    });
  }

  /** New password on `to`, a login with it, then the Secret names it (the flip). */
  async function flip(cred: DatabaseCredential, to: string, request: string | undefined): Promise<string> {
    const { spec } = cred;
    const url = await adminUrl(cred);
    await ensureRoles(url, spec.groupRole ?? spec.role, loginRoles(spec.role));
    const password = newPassword();
    await setPassword(url, to, password);
    await checkLogin(url, to, password);
    const at = now().toISOString();
    await writer.applyOwned(
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: spec.secretName, namespace: cred.metadata!.namespace, annotations: { [ROTATED_AT_ANNOTATION]: at, [ANSWERED_REQUEST_ANNOTATION]: request ?? '' } },
        type: 'Opaque',
        data: { username: b64(to), password: b64(password), 'credentials.json': b64(JSON.stringify({ username: to, password })) },
      } as V1Secret,
      cred,
    );
    return at;
  }

  return async (key, ctx) => {
    if (!ctx.obj || ctx.obj.metadata?.deletionTimestamp) return; // the Secret is owned: garbage-collected with the resource
    const [namespace, name] = key.split('/') as [string, string];
    // Live, not the cache: the cache may not have our last status yet.
    const cred = (await custom.getNamespacedCustomObject(refOf(namespace, name)).catch((e: unknown) => (notFound(e) ? undefined : Promise.reject(e)))) as DatabaseCredential | undefined;
    if (!cred || cred.metadata?.deletionTimestamp) return;
    const secret = await readSecret(namespace, cred.spec.secretName);
    const requested = cred.metadata?.annotations?.[ROTATE_ANNOTATION];
    const plan = planRotation({
      spec: cred.spec,
      secretUser: decode(secret, 'username'),
      lastRotationTime: secret?.metadata?.annotations?.[ROTATED_AT_ANNOTATION],
      requested,
      lastRequest: secret?.metadata?.annotations?.[ANSWERED_REQUEST_ANNOTATION] || undefined,
      now: now(),
    });
    const flipMs = (cred.spec.minFlipIntervalSeconds ?? CREDENTIAL_DEFAULTS.minFlipIntervalSeconds) * 1000;
    switch (plan.action) {
      case 'invalid':
        await writeStatus(cred, {}, { status: 'False', reason: 'InvalidSpec', message: plan.message });
        await writer.recordEvent(cred, { type: 'Warning', reason: 'InvalidSpec', action: 'Validate', note: plan.message }).catch(() => undefined);
        return;
      case 'wait':
        if (cred.status?.activeRole !== plan.active || cred.status.observedGeneration !== cred.metadata?.generation) {
          await writeStatus(cred, { ...cred.status, activeRole: plan.active }, { status: 'True', reason: 'Active', message: `${plan.active} is active` });
        }
        ctx.requeueAfter(plan.afterMs);
        return;
      case 'adopt': {
        // The Secret exists without a flip time: count from now, so the other role is not rotated under a pod that still uses it.
        const at = now().toISOString();
        await writer.applyOwned({ apiVersion: 'v1', kind: 'Secret', metadata: { name: cred.spec.secretName, namespace, annotations: { [ROTATED_AT_ANNOTATION]: at } } } as V1Secret, cred);
        await writeStatus(cred, { ...cred.status, activeRole: plan.active, lastRotationTime: at }, { status: 'True', reason: 'Adopted', message: `${plan.active} is active` });
        ctx.requeueAfter(flipMs);
        return;
      }
      case 'bootstrap':
      case 'rotate': {
        if (!(await ctx.confirmLeadership())) {
          ctx.requeueAfter(1000);
          return;
        }
        let at: string;
        try {
          at = await flip(cred, plan.to, requested);
        } catch (err) {
          rotations.inc({ outcome: 'failed' });
          await writer.recordEvent(cred, { type: 'Warning', reason: 'RotationFailed', action: 'Rotate', note: `${plan.to}: ${describeError(err)}` }).catch(() => undefined);
          throw err;
        }
        rotations.inc({ outcome: plan.action });
        const count = (cred.status?.rotations ?? 0) + (plan.action === 'rotate' ? 1 : 0);
        await writeStatus(cred, { activeRole: plan.to, lastRotationTime: at, rotations: count }, { status: 'True', reason: plan.action === 'rotate' ? 'Rotated' : 'Bootstrapped', message: `${plan.to} is active` });
        const note = plan.action === 'rotate' ? `${plan.from} → ${plan.to} (${plan.reason})` : `${plan.to} created and active`;
        await writer.recordEvent(cred, { type: 'Normal', reason: plan.action === 'rotate' ? 'Rotated' : 'Bootstrapped', action: 'Rotate', note }).catch(() => undefined);
        ctx.requeueAfter(Math.max(flipMs, 1000));
        return;
      }
    }
  };
}

/** The DatabaseCredential controller, watching one namespace or (namespace undefined) all. */
export function databaseCredentialController(options: DatabaseCredentialOptions): Controller<DatabaseCredential> {
  const { kc, namespace, registry } = options;
  const log = options.log ?? defaultLogger();
  const custom = kc.makeApiClient(CustomObjectsApi);
  const { group, version, plural } = DATABASECREDENTIAL;
  const base = `/apis/${group}/${version}`;
  const informer = new Informer<DatabaseCredential>({
    name: 'databasecredentials',
    kc,
    path: namespace ? `${base}/namespaces/${namespace}/${plural}` : `${base}/${plural}`,
    list: () => (namespace ? custom.listNamespacedCustomObject({ group, version, plural, namespace }) : custom.listClusterCustomObject({ group, version, plural })),
    registry,
    log,
  });
  const relevant = (c: DatabaseCredential) => {
    const { resourceVersion: _rv, managedFields: _mf, ...meta } = c.metadata ?? {};
    return JSON.stringify([meta, c.spec]);
  };
  return new Controller<DatabaseCredential>({
    name: 'databasecredential',
    informer,
    // Status is ours: an update touching nothing else needs no reconcile.
    shouldEnqueue: (type, obj, old) => type !== 'update' || !old || relevant(old) !== relevant(obj),
    reconcile: databaseCredentialReconciler({ ...options, log }),
    concurrency: 2,
    registry,
    log,
  });
}
