/**
 * PostgresCluster failover RTO: kill → first acknowledged write through the
 * `-rw` endpoint, over BENCH_RUNS (10) SIGKILLs of the current primary, with
 * the operator (src/reconcilers/postgrescluster.ts) on the real local API
 * server and real PostgreSQL processes (primary + synchronous standby; the
 * killed primary is rewound and rejoins before the next run, so every run
 * fails over between the same two instances, alternating).
 *
 * Two detection modes, both with the CRD defaults (probe every 1000 ms,
 * timeout 1000 ms, 3 consecutive failures):
 * - host view: the process/Pod is seen gone, failover starts at once;
 * - probes only: liveness unknown (a lost node), failover after 3 failed
 *   probes; the old primary is restarted by the bench and comes up read-only
 *   (fenced), then the operator rewinds it.
 *
 * There is no baseline to run here: the comparison is with the documented
 * detection budgets of Patroni (ttl 30 s) and CloudNativePG (~40–55 s for a
 * lost node), printed as ratios.
 */
import { execFileSync } from 'node:child_process';
import { CustomObjectsApi, KubeConfig, CoreV1Api } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { ensureCluster } from '../scripts/cluster/index.ts';
import { silentLogger } from '../operators/platform-operator/src/log.ts';
import { Operator } from '../operators/platform-operator/src/operator.ts';
import { LocalDriver } from '../operators/platform-operator/test/postgres/local-driver.ts';
import { ContinuousWriter, query, resolveService, Testbed } from '../operators/platform-operator/test/postgres/testbed.ts';
import { POSTGRESCLUSTER, type PostgresCluster, postgresClusterController } from '../operators/platform-operator/src/reconcilers/postgrescluster.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 10);
const PATRONI_TTL_MS = 30_000;
const CNPG_RANGE_MS = [40_000, 55_000] as const;

async function until<T>(what: string, read: () => Promise<T> | T, done: (v: T) => boolean, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (done(v)) return v;
    if (Date.now() > deadline) throw new Error(`${what}: timed out`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function measure(kc: KubeConfig, hostView: boolean): Promise<number[]> {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const core = kc.makeApiClient(CoreV1Api);
  const namespace = `pgbench-${process.pid}-${hostView ? 'host' : 'probe'}`;
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  const bed = await Testbed.create('pg', 2);
  const registry = new Registry();
  const controller = postgresClusterController({ kc, identity: 'bench', namespace, registry, log: silentLogger, driver: new LocalDriver(bed.instances, { hostView }) });
  const operator = new Operator({ kc, identity: 'bench', namespace, leaseName: 'platform-operator', controllers: [controller], registry, port: 0, host: '127.0.0.1', log: silentLogger });
  const ref = { group: POSTGRESCLUSTER.group, version: POSTGRESCLUSTER.version, plural: POSTGRESCLUSTER.plural, namespace, name: 'pg' };
  const read = (): Promise<PostgresCluster> => custom.getNamespacedCustomObject(ref) as Promise<PostgresCluster>;
  const rtos: number[] = [];
  // An interrupted bench still removes its processes, addresses and namespace.
  const onSignal = (): void => {
    void bed
      .destroy()
      .then(() => core.deleteNamespace({ name: namespace }))
      .finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await operator.start();
    await until('leader', () => operator.elector.isLeader, Boolean);
    await query(bed.instance('pg-0').endpoint, 'create table writes (id bigint primary key)');
    await custom.createNamespacedCustomObject({ ...ref, body: { apiVersion: `${ref.group}/${ref.version}`, kind: POSTGRESCLUSTER.kind, metadata: { name: 'pg' }, spec: { instances: 2, replication: 'sync' } } });
    for (let run = 0; run < RUNS; run++) {
      const ready = await until('healthy with a sync standby', read, (c) => c.status?.phase === 'Healthy' && (c.status.syncStandbys ?? []).length === 1 && (c.status.pendingRejoin ?? []).length === 0);
      const primary = bed.instance(ready.status?.currentPrimary ?? '');
      const writer = new ContinuousWriter(() => resolveService(kc, namespace, 'pg-rw'), { user: 'postgres', password: bed.password });
      writer.start();
      await until('writes flowing', () => writer.acked.length, (n) => n >= 50);
      const killedAt = Date.now();
      primary.kill('SIGKILL');
      const first = await until('first write after kill', () => writer.firstAckAfter(killedAt), (t) => t !== undefined);
      await writer.stop();
      const survivorName = bed.instances.find((i) => i !== primary)?.name;
      await until('failover recorded', read, (c) => c.status?.currentPrimary === survivorName && c.status?.phase === 'Healthy');
      rtos.push((first ?? killedAt) - killedAt);
      const survivor = bed.instances.find((i) => i !== primary);
      const rows = await query<{ n: string }>(survivor!.endpoint, 'select count(*) as n from writes where id = any($1::bigint[])', [writer.acked]);
      const lost = writer.acked.length - Number(rows[0]?.n ?? 0);
      console.log(`  run ${run + 1}: ${primary.name} killed, RTO ${rtos[rtos.length - 1]} ms, acknowledged writes lost: ${lost}`);
      if (process.env.BENCH_DEBUG) {
        const i = writer.errorsAt.findIndex((t) => t >= killedAt);
        console.log(writer.errorsAt.slice(Math.max(0, i - 2), i + 5).map((t, k) => `${t - killedAt} ${writer.errors[Math.max(0, i - 2) + k]}`));
        console.log(writer.ackedAt.filter((t) => t >= killedAt - 50).slice(0, 5).map((t) => t - killedAt));
      }
      await query(survivor!.endpoint, 'truncate writes');
      if (!hostView) {
        await primary.waitGone();
        await primary.start(); // comes up read-only (fenced with standby.signal); the operator rewinds it
      }
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await operator.stop();
    await bed.destroy();
    await core.deleteNamespace({ name: namespace }).catch(() => undefined);
  }
  return rtos;
}

function stats(xs: number[]): { median: number; max: number } {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, max: sorted[sorted.length - 1] ?? 0 };
}

export default async function run(): Promise<void> {
  const { kubeconfig, kubectl } = await ensureCluster({ crds: false });
  const crd = new URL('../operators/platform-operator/crds/postgrescluster.yaml', import.meta.url).pathname;
  execFileSync(kubectl, ['--kubeconfig', kubeconfig, 'apply', '--server-side', '--field-manager', 'bulwark-bench', '-f', crd], { stdio: 'pipe' });
  execFileSync(kubectl, ['--kubeconfig', kubeconfig, 'wait', '--for=condition=Established', '--timeout=60s', 'crd/postgresclusters.bulwark.dev'], { stdio: 'pipe' });
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  console.log(`PostgresCluster failover RTO (SIGKILL of the primary → first acknowledged write via -rw), ${RUNS} runs per mode, sync replication, CRD defaults`);
  const modes = (process.env.BENCH_MODES ?? 'host,probe').split(',');
  for (const hostView of [true, false].filter((h) => modes.includes(h ? 'host' : 'probe'))) {
    console.log(hostView ? 'mode: host view (process death seen at once)' : 'mode: probes only (3 × 1000 ms probes; old primary restarted by the bench)');
    const { median, max } = stats(await measure(kc, hostView));
    console.log(
      `  RTO median ${median} ms, max ${max} ms (target ≤ 10000 ms); vs Patroni ttl ${PATRONI_TTL_MS} ms: ${(median / PATRONI_TTL_MS).toFixed(3)}×; vs CloudNativePG ${CNPG_RANGE_MS[0]}–${CNPG_RANGE_MS[1]} ms: ${(median / CNPG_RANGE_MS[0]).toFixed(3)}–${(median / CNPG_RANGE_MS[1]).toFixed(3)}×`,
    );
  }
}
