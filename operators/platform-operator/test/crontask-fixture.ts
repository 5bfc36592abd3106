/**
 * The setup every CronTask test file shares: the real control plane with the
 * CRDs installed, a namespace per test (random suffix), in-process operators
 * running the CronTask controller, and a cleanup that stops them, strips the
 * finalizers they can no longer remove and deletes the namespace.
 */
import { afterEach, beforeAll, beforeEach } from '@jest/globals';
import { CustomObjectsApi, EventsV1Api, type KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import type { LeaderElectionTimings } from '../src/leader.ts';
import { type Logger, silentLogger } from '../src/log.ts';
import { Operator } from '../src/operator.ts';
import { CRONTASK, type CronTask, cronTaskController } from '../src/reconcilers/crontask.ts';
import { CLUSTER_START_MS, connect, createNamespace, deleteNamespace, installCrds } from './helpers.ts';

/**
 * Removes our finalizer from every CronTask left in `namespace`: with no
 * operator left to remove them, the namespace would stay Terminating forever.
 */
export async function releaseCronTasks(custom: CustomObjectsApi, namespace: string): Promise<void> {
  const kind = { group: CRONTASK.group, version: CRONTASK.version, plural: CRONTASK.plural, namespace };
  const left = (await custom.listNamespacedCustomObject(kind)) as { items: CronTask[] };
  for (const t of left.items) {
    await custom
      .patchNamespacedCustomObject({ ...kind, name: t.metadata?.name ?? '', body: { metadata: { finalizers: null } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch))
      .catch(() => undefined);
  }
}

export interface CronTaskFixture {
  readonly kc: KubeConfig;
  readonly custom: CustomObjectsApi;
  /** This test's namespace. */
  readonly namespace: string;
  /** Coordinates of a CronTask in this test's namespace. */
  ref(name: string): { group: string; version: string; plural: string; namespace: string; name: string };
  read(name: string): Promise<CronTask>;
  /** `type reason` of each Event about `name` in this test's namespace. */
  eventReasons(name: string): Promise<string[]>;
  /** A CronTask operator in this process (not started), stopped after the test. */
  operator(identity: string, log?: Logger): { operator: Operator; registry: Registry };
  /** Stops an operator before the test ends (it is not stopped again at cleanup). */
  stopOperator(operator: Operator): Promise<void>;
  /** Stopped after the operators when the test ends (e.g. an HTTP target). */
  stopAfterTest(resource: { stop(): Promise<unknown> }): void;
}

/**
 * Registers the hooks (beforeAll: cluster and CRDs; beforeEach: a namespace
 * named `<prefix>-<random>`; afterEach: cleanup) and returns accessors valid
 * inside tests.
 */
export function useCronTaskFixture(prefix: string, timings: LeaderElectionTimings): CronTaskFixture {
  let kc: KubeConfig | undefined;
  let custom: CustomObjectsApi | undefined;
  let namespace: string | undefined;
  let operators: Operator[] = [];
  let resources: { stop(): Promise<unknown> }[] = [];
  const must = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`${what} is set up in beforeAll/beforeEach: use it inside a test`);
    return value;
  };

  beforeAll(async () => {
    kc = await connect();
    custom = kc.makeApiClient(CustomObjectsApi);
    await installCrds();
  }, CLUSTER_START_MS);

  beforeEach(async () => {
    namespace = await createNamespace(must(kc, 'kc'), prefix);
  });

  afterEach(async () => {
    await Promise.all(operators.map((o) => o.stop()));
    operators = [];
    await Promise.all(resources.map((r) => r.stop()));
    resources = [];
    if (custom && namespace) await releaseCronTasks(custom, namespace);
    await deleteNamespace(kc, namespace);
  });

  const fixture: CronTaskFixture = {
    get kc() {
      return must(kc, 'kc');
    },
    get custom() {
      return must(custom, 'custom');
    },
    get namespace() {
      return must(namespace, 'namespace');
    },
    ref: (name) => ({ group: CRONTASK.group, version: CRONTASK.version, plural: CRONTASK.plural, namespace: fixture.namespace, name }),
    read: (name) => fixture.custom.getNamespacedCustomObject(fixture.ref(name)) as Promise<CronTask>,
    async eventReasons(name) {
      const events = await fixture.kc.makeApiClient(EventsV1Api).listNamespacedEvent({ namespace: fixture.namespace, fieldSelector: `regarding.name=${name}` });
      return events.items.map((e) => `${e.type} ${e.reason}`);
    },
    operator(identity, log = silentLogger) {
      const { kc, namespace } = fixture;
      const registry = new Registry();
      const controller = cronTaskController({ kc, identity, namespace, registry, log });
      const operator = new Operator({ kc, identity, namespace, leaseName: 'platform-operator', timings, controllers: [controller], registry, port: 0, host: '127.0.0.1', log });
      operators.push(operator);
      return { operator, registry };
    },
    async stopOperator(operator) {
      operators = operators.filter((o) => o !== operator);
      await operator.stop();
    },
    stopAfterTest(resource) {
      resources.push(resource);
    },
  };
  return fixture;
}
