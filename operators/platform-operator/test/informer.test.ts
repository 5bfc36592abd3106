import { afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { ApiextensionsV1Api, CoreV1Api, CustomObjectsApi, type KubeConfig, type KubernetesObject, type V1ConfigMap } from '@kubernetes/client-node';
import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import { enqueueHandler, Informer, type InformerEventType, type InformerOptions } from '../src/informer.ts';
import { silentLogger } from '../src/log.ts';
import { WorkQueue } from '../src/queue.ts';
import { clusterSettings } from '../../../scripts/cluster/index.ts';
import { CLUSTER_START_MS, connect, createNamespace, deleteNamespace, eventually } from './helpers.ts';

/**
 * Compacts etcd up to its current revision (through etcd's JSON gateway on loopback), so that
 * every older resourceVersion is gone for certain, as it is on any cluster that has run a while.
 */
async function compactEtcd(): Promise<void> {
  const base = `http://127.0.0.1:${clusterSettings.ports.etcdClient}`;
  const range = (await (await fetch(`${base}/v3/kv/range`, { method: 'POST', body: JSON.stringify({ key: 'AA==' }) })).json()) as { header: { revision: string } };
  const res = await fetch(`${base}/v3/kv/compaction`, { method: 'POST', body: JSON.stringify({ revision: range.header.revision, physical: true }) });
  if (!res.ok) throw new Error(`etcd compaction failed: ${res.status} ${await res.text()}`);
}

let kc: KubeConfig;
let core: CoreV1Api;
let namespace: string;
let informers: Informer<KubernetesObject>[] = [];

beforeAll(async () => {
  kc = await connect();
  core = kc.makeApiClient(CoreV1Api);
}, CLUSTER_START_MS);

beforeEach(async () => {
  namespace = await createNamespace(kc, 'informer');
});

afterEach(async () => {
  await Promise.all(informers.map((i) => i.stop()));
  informers = [];
  await deleteNamespace(kc, namespace);
});

async function restarts(registry: Registry, reason: string): Promise<number> {
  const metric = registry.getSingleMetric('operator_informer_watch_restarts_total');
  const values = metric ? (await metric.get()).values : [];
  return values.find((v) => v.labels.reason === reason)?.value ?? 0;
}

function configMapInformer(registry: Registry, extra: Partial<InformerOptions<V1ConfigMap>> = {}) {
  const events: Array<[InformerEventType, string, string | undefined]> = [];
  const informer = new Informer<V1ConfigMap>({
    name: 'configmaps',
    kc,
    path: `/api/v1/namespaces/${namespace}/configmaps`,
    // The namespace's own CA ConfigMap would appear at any moment; leave it out of both list and watch.
    list: () => core.listNamespacedConfigMap({ namespace, fieldSelector: 'metadata.name!=kube-root-ca.crt' }),
    fieldSelector: 'metadata.name!=kube-root-ca.crt',
    log: silentLogger,
    registry,
    ...extra,
  });
  informer.on((type, obj) => events.push([type, `${obj.metadata?.namespace}/${obj.metadata?.name}`, obj.data?.v]));
  informers.push(informer as Informer<KubernetesObject>);
  return { informer, events };
}

describe('informer', () => {
  it('when ConfigMaps are created, updated and deleted, then the handler sees each change with the right key and the queue gets the keys', async () => {
    const registry = new Registry();
    const { informer, events } = configMapInformer(registry);
    const keys: string[] = [];
    const queue = new WorkQueue({ name: 'informer-test', registry, reconcile: async (key) => void keys.push(key) });
    informer.on(enqueueHandler(queue));
    await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'before' }, data: { v: '0' } } });
    await informer.start();
    expect(events).toEqual([['add', `${namespace}/before`, '0']]);

    await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'a' }, data: { v: '1' } } });
    await core.replaceNamespacedConfigMap({ name: 'a', namespace, body: { metadata: { name: 'a' }, data: { v: '2' } } });
    await core.deleteNamespacedConfigMap({ name: 'a', namespace });
    await eventually('three events for a', () => events.filter(([, key]) => key === `${namespace}/a`).length, (n) => n === 3);
    expect(events.slice(1)).toEqual([
      ['add', `${namespace}/a`, '1'],
      ['update', `${namespace}/a`, '2'],
      ['delete', `${namespace}/a`, '2'],
    ]);
    expect(informer.get(`${namespace}/before`)?.data?.v).toBe('0');
    expect(informer.get(`${namespace}/a`)).toBeUndefined();
    await eventually('keys reconciled', () => new Set(keys), (s) => s.has(`${namespace}/a`) && s.has(`${namespace}/before`));
    await queue.shutdown();
  });

  it('when the server ends the watch every second, then the informer watches again and still sees changes', async () => {
    const registry = new Registry();
    const { informer, events } = configMapInformer(registry, { timeoutSeconds: 1 });
    await informer.start();
    await eventually('two server-side closes', () => restarts(registry, 'closed'), (n) => n >= 2);
    await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'after-restarts' }, data: { v: 'x' } } });
    await eventually('the add after restarts', () => events, (e) => e.some(([, key]) => key === `${namespace}/after-restarts`));
    expect(await restarts(registry, 'error')).toBe(0);
  });

  it('when the resourceVersion is too old (410 Gone), then it relists and reports what exists', async () => {
    const registry = new Registry();
    await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'existing' }, data: { v: 'e' } } });
    await compactEtcd();
    const { informer, events } = configMapInformer(registry, { resumeFrom: '1' });
    void informer.start();
    await eventually('relisted', () => events, (e) => e.some(([type, key]) => type === 'add' && key === `${namespace}/existing`));
    expect(await restarts(registry, 'gone')).toBe(1);
    expect(informer.synced).toBe(true);
  });

  it('when the watched resource does not exist yet, then it retries with backoff and recovers once the CRD is registered', async () => {
    const group = `t${randomUUID().slice(0, 8)}.test.bulwark.dev`;
    const apiext = kc.makeApiClient(ApiextensionsV1Api);
    const custom = kc.makeApiClient(CustomObjectsApi);
    const registry = new Registry();
    const seen: string[] = [];
    const informer = new Informer<KubernetesObject>({
      name: 'widgets',
      kc,
      path: `/apis/${group}/v1/namespaces/${namespace}/widgets`,
      list: () => custom.listNamespacedCustomObject({ group, version: 'v1', namespace, plural: 'widgets' }),
      backoff: { baseMs: 200, maxMs: 1000 },
      log: silentLogger,
      registry,
    });
    informers.push(informer);
    informer.on((type, obj) => seen.push(`${type} ${obj.metadata?.name}`));
    const synced = informer.start();
    try {
      await eventually('failed lists', () => restarts(registry, 'error'), (n) => n >= 2);
      await apiext.createCustomResourceDefinition({
        body: {
          metadata: { name: `widgets.${group}` },
          spec: {
            group,
            scope: 'Namespaced',
            names: { plural: 'widgets', singular: 'widget', kind: 'Widget' },
            versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', x_kubernetes_preserve_unknown_fields: true } } }],
          },
        },
      });
      await synced;
      await eventually(
        'widget created',
        () =>
          custom
            .createNamespacedCustomObject({ group, version: 'v1', namespace, plural: 'widgets', body: { apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name: 'w1' } } })
            .then(() => true, () => false),
        Boolean,
      );
      await eventually('widget seen', () => seen, (s) => s.includes('add w1'));
    } finally {
      await apiext.deleteCustomResourceDefinition({ name: `widgets.${group}` }).catch(() => undefined);
    }
  });
});
