/**
 * PostgresCluster failover against the real local API server and real
 * PostgreSQL processes: a primary and a streaming replica started here
 * (initdb / pg_basebackup under a temp dir, on 10.213.x.y addresses added to
 * `lo` because EndpointSlices reject loopback). The test client resolves the
 * `-rw` address from the Service's EndpointSlice, as kube-proxy would.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CustomObjectsApi, EventsV1Api, type KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { ensureCluster } from '../../../scripts/cluster/index.ts';
import { silentLogger } from '../src/log.ts';
import { Operator } from '../src/operator.ts';
import type { InstanceDriver } from '../src/postgres/driver.ts';
import { LocalDriver } from './postgres/local-driver.ts';
import { ContinuousWriter, CuttableProxy, query, resolveService, Testbed } from './postgres/testbed.ts';
import { POSTGRESCLUSTER, type PostgresCluster, postgresClusterController, SWITCHOVER_ANNOTATION } from '../src/reconcilers/postgrescluster.ts';
import { CLUSTER_START_MS, connect, createNamespace, deleteNamespace, eventually, installCrds } from './helpers.ts';

const timings = { leaseDurationMs: 2_000, renewDeadlineMs: 1_500, retryPeriodMs: 300 };
const SETUP_MS = 120_000;

let kc: KubeConfig;
let custom: CustomObjectsApi;

beforeAll(async () => {
  kc = await connect();
  custom = kc.makeApiClient(CustomObjectsApi);
  await installCrds();
  const { kubeconfig, kubectl } = await ensureCluster({ crds: false });
  execFileSync(kubectl, ['--kubeconfig', kubeconfig, 'wait', '--for=condition=Established', '--timeout=60s', 'crd/postgresclusters.bulwark.dev'], { stdio: 'pipe' });
}, CLUSTER_START_MS);

interface Scenario {
  namespace: string;
  bed: Testbed;
  operator: Operator;
  proxy?: CuttableProxy;
  registry: Registry;
}

async function startScenario(replication: 'sync' | 'async', options: { proxyFor?: string; wrap?: (driver: InstanceDriver) => InstanceDriver; hostView?: boolean } = {}): Promise<Scenario> {
  const namespace = await createNamespace(kc, 'pgfailover');
  const bed = await Testbed.create('pg', 2);
  let proxy: CuttableProxy | undefined;
  let proxied: { host: string; port: number } | undefined;
  if (options.proxyFor) {
    const target = bed.instance(options.proxyFor);
    proxy = new CuttableProxy({ host: target.host, port: target.port });
    proxied = await proxy.listen();
  }
  const local = new LocalDriver(bed.instances, {
    sqlAddress: (i) => (proxied && i.name === options.proxyFor ? proxied : { host: i.host, port: i.port }),
    hostView: options.hostView ?? true,
  });
  const driver = options.wrap ? options.wrap(local) : local;
  const registry = new Registry();
  const controller = postgresClusterController({ kc, identity: 'op-a', namespace, registry, log: silentLogger, driver });
  const operator = new Operator({ kc, identity: 'op-a', namespace, leaseName: 'platform-operator', timings, controllers: [controller], registry, port: 0, host: '127.0.0.1', log: silentLogger });
  await operator.start();
  await query(bed.instance('pg-0').endpoint, 'create table writes (id bigint primary key)');
  const body: PostgresCluster = {
    apiVersion: `${POSTGRESCLUSTER.group}/${POSTGRESCLUSTER.version}`,
    kind: POSTGRESCLUSTER.kind,
    metadata: { name: 'pg' },
    spec: { instances: 2, replication, failureThreshold: 3, probeIntervalMs: 300, probeTimeoutMs: 500, maxLagBytes: 64 * 1024 * 1024 },
  };
  await custom.createNamespacedCustomObject({ ...ref(namespace), body });
  return { namespace, bed, operator, proxy, registry };
}

async function stopScenario(s: Scenario | undefined): Promise<void> {
  if (!s) return;
  await s.operator.stop();
  await s.proxy?.close();
  await s.bed.destroy();
  await deleteNamespace(kc, s.namespace);
}

const ref = (namespace: string) => ({ group: POSTGRESCLUSTER.group, version: POSTGRESCLUSTER.version, plural: POSTGRESCLUSTER.plural, namespace, name: 'pg' });
const read = (namespace: string) => custom.getNamespacedCustomObject(ref(namespace)) as Promise<PostgresCluster>;

async function eventReasons(namespace: string): Promise<string[]> {
  const events = await kc.makeApiClient(EventsV1Api).listNamespacedEvent({ namespace, fieldSelector: 'regarding.name=pg' });
  return events.items.sort((a, b) => String(a.eventTime).localeCompare(String(b.eventTime))).map((e) => `${e.type} ${e.reason}`);
}

/** The samples of one metric in a registry (none before its first observation). */
async function samples(registry: Registry, name: string): Promise<Array<{ value: number; labels: Record<string, string | number>; metricName?: string }>> {
  const metric = registry.getSingleMetric(name);
  return (metric ? (await metric.get()).values : []) as Array<{ value: number; labels: Record<string, string | number>; metricName?: string }>;
}

/** operator_postgrescluster_failovers_total for one cluster, as "kind outcome" -> count. */
async function failovers(registry: Registry, namespace: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const v of await samples(registry, 'operator_postgrescluster_failovers_total')) {
    if (v.labels.cluster === `${namespace}/pg`) counts[`${v.labels.kind} ${v.labels.outcome}`] = v.value;
  }
  return counts;
}

/** How many failovers of one kind the duration histogram has seen for one cluster. */
async function failoverDurations(registry: Registry, namespace: string, kind: string): Promise<number> {
  const count = (await samples(registry, 'operator_postgrescluster_failover_duration_seconds')).find(
    (v) => v.metricName === 'operator_postgrescluster_failover_duration_seconds_count' && v.labels.cluster === `${namespace}/pg` && v.labels.kind === kind,
  );
  return count?.value ?? 0;
}

/** The ids of `acked` that are missing on `ep`. */
async function missing(ep: { host: string; port: number; user: string; password: string }, acked: number[]): Promise<number[]> {
  const rows = await query<{ id: string }>(ep, 'select a.id from unnest($1::bigint[]) as a(id) where not exists (select 1 from writes w where w.id = a.id)', [acked]);
  return rows.map((r) => Number(r.id));
}

function writerFor(s: Scenario): ContinuousWriter {
  return new ContinuousWriter(() => resolveService(kc, s.namespace, 'pg-rw'), { user: 'postgres', password: s.bed.password });
}

describe('PostgresCluster failover with synchronous replication (real API server, real PostgreSQL)', () => {
  let s: Scenario | undefined;
  let writer: ContinuousWriter | undefined;

  beforeAll(async () => {
    s = await startScenario('sync');
  }, SETUP_MS);

  afterAll(async () => {
    await writer?.stop();
    await stopScenario(s);
  }, SETUP_MS);

  it('when the operator starts, then pg-0 is the primary, pg-1 its synchronous standby, and -rw/-ro point at them', async () => {
    const { namespace } = s!;
    const ready = await eventually('healthy with a sync standby', () => read(namespace), (c) => c.status?.phase === 'Healthy' && c.status.syncStandbys?.includes('pg-1') === true);
    expect(ready.status?.currentPrimary).toBe('pg-0');
    expect(ready.status?.timeline).toBe(1);
    expect(await resolveService(kc, namespace, 'pg-rw')).toEqual({ host: s!.bed.instance('pg-0').host, port: 5432 });
    expect(await eventually('ro endpoint', () => resolveService(kc, namespace, 'pg-ro'), (a) => a !== undefined)).toEqual({ host: s!.bed.instance('pg-1').host, port: 5432 });
    const setting = await query<{ s: string }>(s!.bed.instance('pg-0').endpoint, "select current_setting('synchronous_standby_names') as s");
    expect(setting[0]?.s).toBe('FIRST 1 (*)');
  });

  it('when the primary is SIGKILLed under continuous writes, then writes resume on the promoted replica and no acknowledged write is lost', async () => {
    const { namespace, bed } = s!;
    writer = writerFor(s!);
    writer.start();
    await eventually('writes flowing', () => writer!.acked.length, (n) => n >= 200);
    const killedAt = Date.now();
    expect(bed.instance('pg-0').kill('SIGKILL')).toBeDefined();
    const failed = await eventually('failed over', () => read(namespace), (c) => c.status?.lastFailover?.to === 'pg-1' && c.status.phase === 'Healthy', 60_000);
    await eventually('writes resumed', () => writer!.firstAckAfter(killedAt), (t) => t !== undefined, 60_000);
    const ackedBeforeStop = writer.acked.length;
    await eventually('more writes', () => writer!.acked.length, (n) => n >= ackedBeforeStop + 50);
    await writer.stop();
    const rto = (writer.firstAckAfter(killedAt) ?? 0) - killedAt;
    process.stdout.write(`failover RTO (kill -> first acknowledged write): ${rto} ms\n`);

    const record = failed.status?.lastFailover;
    expect(record).toEqual(expect.objectContaining({ kind: 'failover', from: 'pg-0', to: 'pg-1', timeline: 2 }));
    expect(record?.oldPrimaryLsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    expect(record?.promotedLsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    expect(Date.parse(record?.fencedAt ?? '')).toBeLessThanOrEqual(Date.parse(record?.promotedAt ?? ''));
    expect(await resolveService(kc, namespace, 'pg-rw')).toEqual({ host: bed.instance('pg-1').host, port: 5432 });
    expect(await missing(bed.instance('pg-1').endpoint, writer.acked)).toEqual([]);
    const reasons = await eventReasons(namespace);
    expect(reasons.indexOf('Normal Fenced')).toBeGreaterThanOrEqual(0);
    expect(reasons.indexOf('Normal Fenced')).toBeLessThan(reasons.indexOf('Normal FailedOver'));
    expect(await failovers(s!.registry, namespace)).toMatchObject({ 'failover completed': 1 });
    expect(await failoverDurations(s!.registry, namespace, 'failover')).toBe(1);
  }, 120_000);

  it('when the old primary returns, then it is rewound, streams from the new primary as its synchronous standby and refuses writes', async () => {
    const { namespace, bed } = s!;
    const rejoined = await eventually(
      'rejoined',
      () => read(namespace),
      (c) => (c.status?.pendingRejoin ?? []).length === 0 && c.status?.syncStandbys?.includes('pg-0') === true,
      90_000,
    );
    expect(rejoined.status?.currentPrimary).toBe('pg-1');
    const old = bed.instance('pg-0').endpoint;
    expect((await query<{ r: boolean }>(old, 'select pg_is_in_recovery() as r'))[0]?.r).toBe(true);
    await expect(query(old, 'insert into writes (id) values (-1)')).rejects.toThrow(/read-only transaction/);
    expect(await missing(old, writer!.acked)).toEqual([]);
    const reasons = await eventReasons(namespace);
    expect(reasons).toEqual(expect.arrayContaining(['Normal Rejoining', 'Normal Rejoined']));
  }, 120_000);

  it('when a switchover back to pg-0 is requested by annotation, then pg-1 is fenced first, pg-0 promoted, writes continue with none lost', async () => {
    const { namespace, bed } = s!;
    writer = writerFor(s!);
    await query(bed.instance('pg-1').endpoint, 'truncate writes');
    writer.start();
    await eventually('writes flowing', () => writer!.acked.length, (n) => n >= 100);
    await custom.patchNamespacedCustomObject(
      { ...ref(namespace), body: { metadata: { annotations: { [SWITCHOVER_ANNOTATION]: 'pg-0' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    // The annotation is removed right after the status records the switchover (same reconcile): wait for both.
    const switched = await eventually('switched', () => read(namespace), (c) => c.status?.lastFailover?.kind === 'switchover' && c.status.phase === 'Healthy' && c.metadata?.annotations?.[SWITCHOVER_ANNOTATION] === undefined, 60_000);
    const count = writer.acked.length;
    await eventually('writes continue', () => writer!.acked.length, (n) => n >= count + 50, 60_000);
    await writer.stop();
    expect(switched.status?.lastFailover).toEqual(expect.objectContaining({ from: 'pg-1', to: 'pg-0', timeline: 3 }));
    expect(switched.metadata?.annotations?.[SWITCHOVER_ANNOTATION]).toBeUndefined();
    expect(await missing(bed.instance('pg-0').endpoint, writer.acked)).toEqual([]);
    const rejoined = await eventually('pg-1 back as replica', () => read(namespace), (c) => (c.status?.pendingRejoin ?? []).length === 0 && c.status?.syncStandbys?.includes('pg-1') === true, 90_000);
    expect(rejoined.status?.currentPrimary).toBe('pg-0');
    await expect(query(bed.instance('pg-1').endpoint, 'insert into writes (id) values (-1)')).rejects.toThrow(/read-only transaction/);
    expect(await failovers(s!.registry, namespace)).toMatchObject({ 'failover completed': 1, 'switchover completed': 1 });
    expect(await failoverDurations(s!.registry, namespace, 'switchover')).toBe(1);
  }, 180_000);

  it('when a switchover names an instance that does not exist, then it is rejected with a Warning and nothing is fenced', async () => {
    const { namespace } = s!;
    await custom.patchNamespacedCustomObject(
      { ...ref(namespace), body: { metadata: { annotations: { [SWITCHOVER_ANNOTATION]: 'pg-9' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await eventually('annotation removed', () => read(namespace), (c) => c.metadata?.annotations?.[SWITCHOVER_ANNOTATION] === undefined);
    expect(await eventReasons(namespace)).toContain('Warning SwitchoverRejected');
    const after = await read(namespace);
    expect(after.status?.currentPrimary).toBe('pg-0');
    expect(after.status?.lastFailover?.kind).toBe('switchover');
    expect(after.status?.lastFailover?.to).toBe('pg-0');
    // A reconcile that runs before the informer sees the annotation removed rejects it once more.
    const attempts = await failovers(s!.registry, namespace);
    expect(attempts).toMatchObject({ 'failover completed': 1, 'switchover completed': 1 });
    expect(attempts['switchover rejected']).toBeGreaterThanOrEqual(1);
  });
});

describe('split-brain guard (async replication)', () => {
  let s: Scenario | undefined;

  beforeAll(async () => {
    s = await startScenario('async', { proxyFor: 'pg-0' });
  }, SETUP_MS);

  afterAll(async () => {
    await stopScenario(s);
  }, SETUP_MS);

  it('when the primary is unreachable from the operator but alive and taking writes, then it is fenced (stopped) before the replica is promoted', async () => {
    const { namespace, bed, proxy } = s!;
    await eventually('healthy', () => read(namespace), (c) => c.status?.phase === 'Healthy' && c.status.currentPrimary === 'pg-0');
    // A client that keeps writing straight to the old primary's address, as a client with a cached address would.
    const old = bed.instance('pg-0');
    const direct = new ContinuousWriter(async () => ({ host: old.host, port: old.port }), { user: 'postgres', password: bed.password });
    direct.start();
    await eventually('direct writes flowing', () => direct.acked.length, (n) => n >= 100);
    proxy!.cut();
    const failed = await eventually('failed over', () => read(namespace), (c) => c.status?.lastFailover?.to === 'pg-1', 60_000);
    await direct.stop();
    expect(failed.status?.lastFailover?.reason).toMatch(/probe failed/);
    // Had pg-1 been promoted while pg-0 still took writes, pg-0 would hold acknowledged ids pg-1 never got.
    expect(await missing(bed.instance('pg-1').endpoint, direct.acked)).toEqual([]);
    expect(direct.errors.length).toBeGreaterThan(0);
    const reasons = await eventReasons(namespace);
    expect(reasons.indexOf('Normal Fenced')).toBeLessThan(reasons.indexOf('Normal FailedOver'));
    expect(await resolveService(kc, namespace, 'pg-rw')).toEqual({ host: bed.instance('pg-1').host, port: 5432 });
  }, 120_000);
});

describe('an old primary restarted by someone else (probes only, no host view)', () => {
  let s: Scenario | undefined;

  beforeAll(async () => {
    s = await startScenario('async', { hostView: false });
  }, SETUP_MS);

  afterAll(async () => {
    await stopScenario(s);
  }, SETUP_MS);

  it('when the killed primary is started again as it was, then it never accepts a write: read-only until rewound, then a replica', async () => {
    const { namespace, bed } = s!;
    await eventually('healthy', () => read(namespace), (c) => c.status?.phase === 'Healthy' && c.status.currentPrimary === 'pg-0');
    const old = bed.instance('pg-0');
    old.kill('SIGKILL');
    await eventually('failed over', () => read(namespace), (c) => c.status?.lastFailover?.to === 'pg-1' && c.status.phase === 'Healthy', 60_000);
    await old.waitGone();
    // A client with the old address in hand writes to it the whole time it is back.
    const direct = new ContinuousWriter(async () => ({ host: old.host, port: old.port }), { user: 'postgres', password: bed.password });
    await old.start();
    direct.start();
    await eventually('rejoined', () => read(namespace), (c) => (c.status?.pendingRejoin ?? []).length === 0, 90_000);
    await eventually('streaming from pg-1', () => read(namespace), (c) => c.status?.instances?.find((i) => i.name === 'pg-0')?.role === 'replica', 60_000);
    const errorsSoFar = direct.errors.length;
    await eventually('refused again as a replica', () => direct.errors.length, (n) => n >= errorsSoFar + 3);
    await direct.stop();
    expect(direct.acked).toEqual([]);
    expect(direct.errors.some((e) => /read-only transaction/.test(e))).toBe(true);
    expect(await eventReasons(namespace)).toEqual(expect.arrayContaining(['Normal Rejoining', 'Normal Rejoined']));
  }, 180_000);
});

describe('fencing that cannot be confirmed', () => {
  let s: Scenario | undefined;

  beforeAll(async () => {
    // The host path to the old primary fails (a node nobody can reach): fence() throws.
    const wrap = (inner: InstanceDriver): InstanceDriver => ({
      instances: (c) => inner.instances(c),
      credentials: (c) => inner.credentials(c),
      sqlEndpoint: (i, c) => inner.sqlEndpoint(i, c),
      rejoin: (c, i, p) => inner.rejoin(c, i, p),
      fence: async () => {
        throw new Error('node unreachable: cannot confirm the instance is stopped');
      },
    });
    s = await startScenario('async', { wrap });
  }, SETUP_MS);

  afterAll(async () => {
    await stopScenario(s);
  }, SETUP_MS);

  it('when the old primary cannot be confirmed stopped, then nothing is promoted, -rw stays empty and the failure is reported', async () => {
    const { namespace, bed, registry } = s!;
    await eventually('healthy', () => read(namespace), (c) => c.status?.phase === 'Healthy' && c.status.currentPrimary === 'pg-0');
    bed.instance('pg-0').kill('SIGKILL');
    await eventually('RoundFailed event', () => eventReasons(namespace), (r) => r.includes('Warning RoundFailed'), 60_000);
    const reconciles = async (): Promise<number> => (await samples(registry, 'operator_reconcile_total')).reduce((n, v) => n + v.value, 0);
    const seen = await reconciles();
    // Several more failover attempts, each stopped at the fence.
    await eventually('more rounds', reconciles, (n) => n >= seen + 5, 60_000);
    const after = await read(namespace);
    expect(after.status?.currentPrimary).toBe('pg-0');
    expect(after.status?.phase).toBe('FailingOver');
    expect(after.status?.lastFailover).toBeUndefined();
    expect((await query<{ r: boolean }>(bed.instance('pg-1').endpoint, 'select pg_is_in_recovery() as r'))[0]?.r).toBe(true);
    expect(await resolveService(kc, namespace, 'pg-rw')).toBeUndefined();
    expect(await eventReasons(namespace)).not.toContain('Normal FailedOver');
    const attempts = await failovers(registry, namespace);
    expect(Object.keys(attempts)).toEqual(['failover failed']); // every attempt stopped at the fence, none completed
    expect(attempts['failover failed']).toBeGreaterThanOrEqual(5);
  }, 120_000);
});

describe('PostgresCluster validation', () => {
  let namespace: string | undefined;
  afterAll(async () => {
    await deleteNamespace(kc, namespace);
  });

  it('when the spec is impossible, then the API server rejects it', async () => {
    namespace = await createNamespace(kc, 'pgvalid');
    const create = (spec: Record<string, unknown>) =>
      custom.createNamespacedCustomObject({ ...ref(namespace!), body: { apiVersion: 'bulwark.dev/v1alpha1', kind: 'PostgresCluster', metadata: { name: 'pg' }, spec } });
    await expect(create({ instances: 0 })).rejects.toThrow(/spec.instances/);
    await expect(create({ instances: 12 })).rejects.toThrow(/spec.instances/);
    await expect(create({ instances: 1, replication: 'sync' })).rejects.toThrow(/synchronous replication needs at least 2 instances/);
    await expect(create({ instances: 2, replication: 'semi' })).rejects.toThrow(/spec.replication/);
    await expect(create({ instances: 2, maxLagBytes: -1 })).rejects.toThrow(/spec.maxLagBytes/);
    // Written into the Pods' pg_hba.conf: only a CIDR passes, so no rule can be smuggled in.
    await expect(create({ instances: 2, replicationNetworks: ['all'] })).rejects.toThrow(/spec.replicationNetworks/);
    await expect(create({ instances: 2, replicationNetworks: ['10.0.0.0/8 trust\nhost all all all'] })).rejects.toThrow(/spec.replicationNetworks/);
    await expect(create({ instances: 2, replicationNetworks: [] })).rejects.toThrow(/spec.replicationNetworks/);
    const ok = (await create({ instances: 3, replicationNetworks: ['10.245.0.0/24', 'fd00::/8'] })) as PostgresCluster;
    expect(ok.spec).toEqual(expect.objectContaining({ instances: 3, replication: 'async', failureThreshold: 3, maxLagBytes: 16777216, replicationNetworks: ['10.245.0.0/24', 'fd00::/8'] }));
  });
});
