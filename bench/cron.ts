/**
 * CronTask reconcile throughput: BENCH_TASKS (1,000) CronTask objects exist
 * when the operator (src/reconcilers/crontask.ts, in this process, on the real
 * local API server) starts leading — a cold start or a failover. Measured:
 *
 * - time to steady state: leader → every task has status.observedGeneration
 *   = generation (finalizer added, nextScheduleTime, Ready, a Scheduled Event);
 * - API requests per reconcile and per task, counted in the operator's own
 *   client (`operator_kube_requests_total`, every request its KubeConfig
 *   authenticates; the shared API server's /metrics would mix in other users);
 * - with the CronTask queue defaults (50 reconciles/s, burst 200, 4 workers)
 *   and with the rate limit lifted, to separate the chosen bound from the
 *   machinery's ceiling.
 *
 * Baseline, same run: the writes steady state needs, issued by a plain loop
 * with the same parallelism and no operator (JSON-patch the finalizer,
 * merge-patch the status, create the Event, for each of BENCH_TASKS fresh
 * tasks): the API server's own cost floor on this machine. The schedules never
 * fire during the bench (daily/monthly in 8 zones), so only reconciling is measured.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { CoreV1Api, CustomObjectsApi, EventsV1Api, KubeConfig, PatchStrategy, setHeaderOptions, V1MicroTime } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { ensureCluster } from '../scripts/cluster/index.ts';
import { Informer } from '../operators/platform-operator/src/informer.ts';
import { countRequests } from '../operators/platform-operator/src/kube.ts';
import { silentLogger } from '../operators/platform-operator/src/log.ts';
import { Operator } from '../operators/platform-operator/src/operator.ts';
import { CRONTASK, CRONTASK_FINALIZER, type CronTask, cronTaskController } from '../operators/platform-operator/src/reconcilers/crontask.ts';

const TASKS = Number(process.env.BENCH_TASKS ?? 1000);
const PARALLEL = 4;
const ZONES = ['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Tokyo', 'Australia/Sydney', 'America/Sao_Paulo', 'Asia/Kolkata', 'Europe/London'];

async function pool<T>(items: T[], parallel: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < items.length) await work(items[next++] as T);
    }),
  );
}

function task(i: number): CronTask {
  return {
    apiVersion: `${CRONTASK.group}/${CRONTASK.version}`,
    kind: CRONTASK.kind,
    metadata: { name: `task-${i}` },
    // Daily at a fixed hour, or monthly: nothing fires in the minutes the bench takes (tick planning still runs).
    spec: { schedule: i % 2 ? `${i % 60} ${i % 24} * * *` : `0 3 ${1 + (i % 28)} * *`, timeZone: ZONES[i % ZONES.length], target: { url: 'http://target.invalid/hook' }, startingDeadlineSeconds: 60 },
  };
}

async function withNamespace<T>(kc: KubeConfig, name: string, use: (ns: string) => Promise<T>): Promise<T> {
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  await core.createNamespace({ body: { metadata: { name } } });
  try {
    return await use(name);
  } finally {
    // Finalizers would keep the namespace Terminating with no operator left to remove them.
    const list = (await custom.listNamespacedCustomObject({ group: CRONTASK.group, version: CRONTASK.version, plural: CRONTASK.plural, namespace: name })) as { items: CronTask[] };
    await pool(list.items, 8, async (t) => {
      await custom
        .patchNamespacedCustomObject(
          { group: CRONTASK.group, version: CRONTASK.version, plural: CRONTASK.plural, namespace: name, name: t.metadata?.name ?? '', body: { metadata: { finalizers: null } } },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        )
        .catch(() => undefined);
    });
    await core.deleteNamespace({ name }).catch(() => undefined);
  }
}

async function createTasks(kc: KubeConfig, namespace: string): Promise<void> {
  const custom = kc.makeApiClient(CustomObjectsApi);
  await pool(
    Array.from({ length: TASKS }, (_, i) => i),
    8,
    async (i) => {
      await custom.createNamespacedCustomObject({ group: CRONTASK.group, version: CRONTASK.version, plural: CRONTASK.plural, namespace, body: task(i) });
    },
  );
}

/** Watches the tasks from a separate client (one watch stream: polling LISTs of 1,000 objects would load the API server and skew the figures). */
async function observe(kc: KubeConfig, namespace: string): Promise<Informer<CronTask>> {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const informer = new Informer<CronTask>({
    name: 'bench-observer',
    kc,
    path: `/apis/${CRONTASK.group}/${CRONTASK.version}/namespaces/${namespace}/${CRONTASK.plural}`,
    list: () => custom.listNamespacedCustomObject({ group: CRONTASK.group, version: CRONTASK.version, plural: CRONTASK.plural, namespace }),
    log: silentLogger,
  });
  await informer.start();
  return informer;
}

const steadyCount = (observer: Informer<CronTask>): number =>
  observer.list().filter((t) => t.status?.observedGeneration === t.metadata?.generation && t.status?.nextScheduleTime).length;

async function metric(registry: Registry, name: string, filter: (labels: Record<string, string | number>) => boolean = () => true): Promise<number> {
  const m = registry.getSingleMetric(name);
  if (!m) return 0;
  return ((await m.get()).values as Array<{ value: number; labels: Record<string, string | number> }>).filter((v) => filter(v.labels)).reduce((n, v) => n + v.value, 0);
}

interface Figures {
  steadyMs: number;
  reconciles: number;
  requests: number;
  byVerb: Record<string, number>;
}

async function measureOperator(kubeconfig: string, label: string, rateLimit?: { perSecond: number; burst: number }): Promise<Figures> {
  const observer = new KubeConfig();
  observer.loadFromFile(kubeconfig);
  return withNamespace(observer, `cronbench-${process.pid}-${label}`, async (namespace) => {
    await createTasks(observer, namespace);
    const watcher = await observe(observer, namespace);
    const registry = new Registry();
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    countRequests(kc, registry);
    const controller = cronTaskController({ kc, identity: 'bench', namespace, registry, log: silentLogger, rateLimit });
    const operator = new Operator({ kc, identity: 'bench', namespace, leaseName: 'platform-operator', controllers: [controller], registry, port: 0, host: '127.0.0.1', log: silentLogger });
    await operator.start();
    // Informers have listed and are watching; everything from here on is leading (plus Lease renewals, ~1 request/s).
    const before = await metric(registry, 'operator_kube_requests_total');
    while (!operator.elector.isLeader) await new Promise((r) => setTimeout(r, 20));
    const started = Date.now();
    let steadyMs: number;
    for (;;) {
      const n = steadyCount(watcher);
      if (n === TASKS) {
        steadyMs = Date.now() - started;
        break;
      }
      if (Date.now() - started > 20 * 60_000) throw new Error(`${label}: only ${n}/${TASKS} steady after 20 min`);
      await new Promise((r) => setTimeout(r, 50));
    }
    // Let the queue settle (the last status writes' own events are filtered, but runs/jobs informers may still deliver).
    await new Promise((r) => setTimeout(r, 2000));
    const reconciles = await metric(registry, 'operator_reconcile_total');
    const requests = (await metric(registry, 'operator_kube_requests_total')) - before;
    const byVerb: Record<string, number> = {};
    for (const verb of ['GET', 'POST', 'PATCH', 'PUT', 'DELETE', 'WATCH']) byVerb[verb] = await metric(registry, 'operator_kube_requests_total', (l) => l.verb === verb);
    await operator.stop();
    await watcher.stop();
    return { steadyMs, reconciles, requests, byVerb };
  });
}

async function measureBaseline(kubeconfig: string): Promise<{ ms: number; requests: number }> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const events = kc.makeApiClient(EventsV1Api);
  return withNamespace(kc, `cronbench-${process.pid}-raw`, async (namespace) => {
    await createTasks(kc, namespace);
    const list = (await custom.listNamespacedCustomObject({ group: CRONTASK.group, version: CRONTASK.version, plural: CRONTASK.plural, namespace })) as { items: CronTask[] };
    const started = Date.now();
    await pool(list.items, PARALLEL, async (t) => {
      const name = t.metadata?.name ?? '';
      const ref = { group: CRONTASK.group, version: CRONTASK.version, plural: CRONTASK.plural, namespace, name };
      await custom.patchNamespacedCustomObject(
        { ...ref, body: [{ op: 'test', path: '/metadata/resourceVersion', value: t.metadata?.resourceVersion }, { op: 'add', path: '/metadata/finalizers', value: [CRONTASK_FINALIZER] }] },
        setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
      );
      await custom.patchNamespacedCustomObjectStatus(
        { ...ref, body: { status: { observedGeneration: t.metadata?.generation, nextScheduleTime: new Date(Date.now() + 3_600_000).toISOString() } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      await events.createNamespacedEvent({
        namespace,
        body: {
          metadata: { name: `${name}.${randomUUID().slice(0, 13)}`, namespace },
          eventTime: new V1MicroTime(),
          type: 'Normal',
          reason: 'Scheduled',
          action: 'Schedule',
          reportingController: 'bulwark.dev/bench',
          reportingInstance: 'bench',
          regarding: { apiVersion: t.apiVersion, kind: t.kind, name, namespace, uid: t.metadata?.uid },
        },
      });
    });
    return { ms: Date.now() - started, requests: list.items.length * 3 };
  });
}

export default async function main(): Promise<void> {
  const { kubeconfig, kubectl } = await ensureCluster({ crds: false });
  const dir = new URL('../operators/platform-operator/crds/', import.meta.url).pathname;
  execFileSync(kubectl, ['--kubeconfig', kubeconfig, 'apply', '--server-side', '--force-conflicts', '--field-manager', 'bulwark-bench', '-f', dir], { stdio: 'pipe' });
  execFileSync(kubectl, ['--kubeconfig', kubeconfig, 'wait', '--for=condition=Established', '--timeout=60s', 'crd/crontasks.bulwark.dev', 'crd/crontaskruns.bulwark.dev'], { stdio: 'pipe' });

  console.log(`CronTask reconcile throughput: ${TASKS} tasks, local kube-apiserver (${kubeconfig})`);
  const baseline = await measureBaseline(kubeconfig);
  console.log(`baseline (raw writes, ${PARALLEL} parallel, no operator): ${(baseline.ms / 1000).toFixed(1)} s for ${baseline.requests} requests (${(TASKS / (baseline.ms / 1000)).toFixed(0)} tasks/s)`);
  for (const [label, rateLimit] of [
    ['defaults', undefined],
    ['unlimited', { perSecond: 100_000, burst: 100_000 }],
  ] as const) {
    const f = await measureOperator(kubeconfig, label, rateLimit);
    const verbs = Object.entries(f.byVerb)
      .filter(([, n]) => n > 0)
      .map(([v, n]) => `${v} ${n}`)
      .join(', ');
    console.log(
      [
        `operator (${label === 'defaults' ? 'queue defaults: 50/s burst 200, 4 workers' : 'rate limit lifted, 4 workers'}):`,
        `  time to steady state: ${(f.steadyMs / 1000).toFixed(1)} s (${(TASKS / (f.steadyMs / 1000)).toFixed(0)} tasks/s), ${(f.steadyMs / baseline.ms).toFixed(2)}× the raw-write baseline`,
        `  reconciles: ${f.reconciles} (${(f.reconciles / TASKS).toFixed(2)} per task)`,
        `  API requests after leading: ${f.requests} = ${(f.requests / f.reconciles).toFixed(2)} per reconcile, ${(f.requests / TASKS).toFixed(2)} per task (floor ${(baseline.requests / TASKS).toFixed(0)}); by verb incl. start-up lists/watches: ${verbs}`,
      ].join('\n'),
    );
  }
}
