import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { CoordinationV1Api, CoreV1Api, KubeConfig, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { type Clock, systemClock } from '../src/clock.ts';
import { LeaderElector, type LeaderElectorOptions } from '../src/leader.ts';
import { silentLogger } from '../src/log.ts';
import { ClusterLease } from '../src/reconcilers/postgrescluster-lease.ts';
import { CLUSTER_START_MS, connect, createNamespace, deleteNamespace, eventually } from './helpers.ts';

// Short timings so expiry happens within a test; same ratios rules as production.
const timings = { leaseDurationMs: 2_000, renewDeadlineMs: 1_500, retryPeriodMs: 300 };

let kc: KubeConfig;
let api: CoordinationV1Api;
let namespace: string;
let electors: LeaderElector[] = [];

beforeAll(async () => {
  kc = await connect();
  api = kc.makeApiClient(CoordinationV1Api);
}, CLUSTER_START_MS);

beforeEach(async () => {
  namespace = await createNamespace(kc, 'leader');
});

afterEach(async () => {
  await Promise.all(electors.map((e) => e.stop()));
  electors = [];
  await deleteNamespace(kc, namespace);
});

afterAll(() => undefined);

function elector(identity: string, events: string[], extra: Partial<LeaderElectorOptions> = {}): LeaderElector {
  const e = new LeaderElector({
    api,
    namespace,
    leaseName: 'platform-operator',
    identity,
    ...timings,
    log: silentLogger,
    onStartedLeading: () => void events.push(`${identity} started`),
    onStoppedLeading: () => void events.push(`${identity} stopped`),
    ...extra,
  });
  electors.push(e);
  return e;
}

const holder = async (): Promise<string> => (await api.readNamespacedLease({ name: 'platform-operator', namespace })).spec?.holderIdentity ?? '';

describe('leader election on a Lease', () => {
  it('when two electors campaign, then exactly one leads and the Lease names it through several renewals', async () => {
    const events: string[] = [];
    const a = elector('replica-a', events);
    const b = elector('replica-b', events);
    a.start();
    b.start();
    const leader = await eventually('a leader', () => [a, b].filter((e) => e.isLeader), (l) => l.length === 1);
    const first = await api.readNamespacedLease({ name: 'platform-operator', namespace });
    // Wait for three more renewals by the leader, then check nobody else took over meanwhile.
    const renewals = new Set<string>();
    await eventually(
      'three renewals',
      async () => {
        const lease = await api.readNamespacedLease({ name: 'platform-operator', namespace });
        renewals.add(String(lease.spec?.renewTime?.valueOf()));
        return lease;
      },
      () => renewals.size >= 4,
    );
    expect([a, b].filter((e) => e.isLeader)).toEqual(leader);
    expect(await holder()).toBe(leader[0]?.identity);
    expect(first.spec?.leaseDurationSeconds).toBe(2);
    expect(events).toEqual([`${leader[0]?.identity} started`]);
  });

  it('when the leader stops, then it releases the Lease and the other elector takes over', async () => {
    const events: string[] = [];
    const registry = new Registry();
    const a = elector('replica-a', events, { registry });
    a.start();
    await eventually('a leads', () => a.isLeader, Boolean);
    const b = elector('replica-b', events, { registry });
    b.start();
    await a.stop();
    expect(a.isLeader).toBe(false);
    await eventually('b leads', () => b.isLeader, Boolean);
    expect(await holder()).toBe('replica-b');
    expect(events).toEqual(['replica-a started', 'replica-a stopped', 'replica-b started']);
    const lease = await api.readNamespacedLease({ name: 'platform-operator', namespace });
    expect(lease.spec?.leaseTransitions).toBe(1);
    const metrics = await registry.metrics();
    expect(metrics).toContain('operator_leader_transitions_total{lease="platform-operator",event="started"} 2');
    expect(metrics).toContain('operator_leader_transitions_total{lease="platform-operator",event="stopped"} 1');
  });

  it('when the leader stops renewing without releasing, then the other takes over only after the lease expires', async () => {
    const events: string[] = [];
    const a = elector('replica-a', events, { releaseOnCancel: false });
    a.start();
    await eventually('a leads', () => a.isLeader, Boolean);
    const b = elector('replica-b', events);
    b.start();
    // b has seen a's live lease; a now vanishes without a word, as a crashed or partitioned replica would.
    await eventually('b observes a', () => holder(), (h) => h === 'replica-a');
    await a.stop();
    expect(await holder()).toBe('replica-a');
    await eventually('b leads', () => b.isLeader, Boolean);
    const lease = await api.readNamespacedLease({ name: 'platform-operator', namespace });
    expect(lease.spec?.holderIdentity).toBe('replica-b');
    expect(lease.spec?.leaseTransitions).toBe(1);
    expect(events).toEqual(['replica-a started', 'replica-a stopped', 'replica-b started']);
  });

  it('when the Lease is taken by someone else, then the leader notices and stops leading', async () => {
    const events: string[] = [];
    let signal: AbortSignal | undefined;
    const a = elector('replica-a', events, {
      onStartedLeading: (s) => {
        signal = s;
        events.push('replica-a started');
      },
    });
    a.start();
    await eventually('a leads', () => a.isLeader, Boolean);
    const lease = await api.readNamespacedLease({ name: 'platform-operator', namespace });
    await api.replaceNamespacedLease({
      name: 'platform-operator',
      namespace,
      body: { ...lease, spec: { ...lease.spec, holderIdentity: 'intruder', leaseDurationSeconds: 60 } },
    }).catch(async () => {
      // a renewed in between: take the fresh copy.
      const fresh = await api.readNamespacedLease({ name: 'platform-operator', namespace });
      await api.replaceNamespacedLease({ name: 'platform-operator', namespace, body: { ...fresh, spec: { ...fresh.spec, holderIdentity: 'intruder', leaseDurationSeconds: 60 } } });
    });
    await eventually('a stops leading', () => a.isLeader, (l) => !l);
    expect(signal?.aborted).toBe(true);
    expect(events).toEqual(['replica-a started', 'replica-a stopped']);
    expect(await holder()).toBe('intruder');
  });

  it('when the leader loses permission to renew, then it steps down by the renew deadline and the other takes over after expiry, never both at once', async () => {
    // A Lease longer than the renew deadline by a wide margin: the gap is what keeps the two terms apart.
    const wide = { leaseDurationMs: 4_000, renewDeadlineMs: 1_500, retryPeriodMs: 300 };
    const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
    const core = kc.makeApiClient(CoreV1Api);
    await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: 'elector-a' } } });
    await rbac.createNamespacedRole({
      namespace,
      body: { metadata: { name: 'leases' }, rules: [{ apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] }] },
    });
    await rbac.createNamespacedRoleBinding({
      namespace,
      body: {
        metadata: { name: 'elector-a-leases' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'leases' },
        subjects: [{ kind: 'ServiceAccount', name: 'elector-a', namespace }],
      },
    });
    const { status } = await core.createNamespacedServiceAccountToken({ name: 'elector-a', namespace, body: { spec: { expirationSeconds: 600 } } });
    const cluster = kc.getCurrentCluster();
    if (!cluster || !status?.token) throw new Error('no cluster or token');
    const saKc = new KubeConfig();
    saKc.loadFromOptions({
      clusters: [cluster],
      users: [{ name: 'elector-a', token: status.token }],
      contexts: [{ name: 'elector-a', cluster: cluster.name, user: 'elector-a' }],
      currentContext: 'elector-a',
    });

    const events: string[] = [];
    let overlap = false;
    const a = elector('replica-a', events, { ...wide, api: saKc.makeApiClient(CoordinationV1Api) });
    const b = elector('replica-b', events, {
      ...wide,
      onStartedLeading: () => {
        if (a.isLeader) overlap = true;
        events.push('replica-b started');
      },
    });
    a.start();
    await eventually('a leads with its own credentials', () => a.isLeader, Boolean);
    b.start();
    await eventually('b observes a', () => holder(), (h) => h === 'replica-a');
    await rbac.deleteNamespacedRoleBinding({ name: 'elector-a-leases', namespace });
    await eventually('b leads', () => b.isLeader, Boolean);
    expect(a.isLeader).toBe(false);
    expect(overlap).toBe(false);
    expect(events).toEqual(['replica-a started', 'replica-a stopped', 'replica-b started']);
    expect(await holder()).toBe('replica-b');
  });

  it('when a leader dies and a new process with the same name campaigns, then it leads only after the old record expires, as a new term with a larger token', async () => {
    const events: string[] = [];
    const old = elector('replica-a', events, { releaseOnCancel: false });
    old.start();
    await eventually('old leads', () => old.isLeader, Boolean);
    const oldTerm = old.term;
    // The restarted container: same name, new process, while the dead one's record is still fresh.
    const fresh = elector('replica-a', events);
    fresh.start();
    await eventually('fresh observes old', async () => (await api.readNamespacedLease({ name: 'platform-operator', namespace })).metadata?.annotations?.['bulwark.dev/lease-incarnation'], (i) => i === old.incarnation);
    await old.stop();
    await eventually('fresh leads', () => fresh.isLeader, Boolean);
    const lease = await api.readNamespacedLease({ name: 'platform-operator', namespace });
    expect(fresh.incarnation).not.toBe(old.incarnation);
    expect(lease.metadata?.annotations?.['bulwark.dev/lease-incarnation']).toBe(fresh.incarnation);
    expect(fresh.term?.leaseTransitions).toBeGreaterThan(oldTerm?.leaseTransitions ?? Number.POSITIVE_INFINITY);
    expect(lease.spec?.leaseTransitions).toBe(fresh.term?.leaseTransitions);
    expect(await old.confirm()).toBeUndefined();
    expect(await fresh.confirm()).toEqual(fresh.term);
  });

  it('when two processes campaign under the same name at once, then exactly one leads through several renewals', async () => {
    const events: string[] = [];
    const a = elector('same-name', events);
    const b = elector('same-name', events);
    a.start();
    b.start();
    const leader = await eventually('a leader', () => [a, b].filter((e) => e.isLeader), (l) => l.length === 1);
    const renewals = new Set<string>();
    await eventually(
      'four renewals',
      async () => {
        const lease = await api.readNamespacedLease({ name: 'platform-operator', namespace });
        renewals.add(String(lease.spec?.renewTime?.valueOf()));
        expect([a, b].filter((e) => e.isLeader)).toEqual(leader);
        return lease;
      },
      () => renewals.size >= 5,
    );
    expect(events).toEqual(['same-name started']);
  });
});

/** The wall clock moved by `skewMs`: what another machine's clock may say. */
const skewed = (skewMs: number): Clock => ({ now: () => Date.now() + skewMs, setTimer: systemClock.setTimer });

describe('one Lease implementation judged on the own clock (leader election and the failover Lease)', () => {
  const durationSeconds = 2;

  it.each([
    ['behind', -3_600_000],
    ['ahead of', 3_600_000],
  ])('when the holder\'s clock is an hour %s the candidate\'s, then the candidate takes no live cluster Lease and takes a dead one after expiry', async (_direction, skewMs) => {
    const cluster = { namespace, name: 'pg' };
    const holder = new ClusterLease(kc, 'op-holder', { durationSeconds, clock: skewed(skewMs) });
    const candidate = new ClusterLease(kc, 'op-candidate', { durationSeconds });
    expect(await holder.acquire(cluster)).toBe(true);
    const before = (await api.readNamespacedLease({ name: 'pg-failover', namespace })).spec?.leaseTransitions ?? 0;
    // Live: the holder renews and the candidate tries after each renewal, until the renewals the holder wrote
    // span three lease durations (a sentinel read from the Lease: its renewTime moves with real time, whatever the skew).
    // renewTime arrives as the API's string (typed V1MicroTime).
    const renewedAt = async (): Promise<number> => Date.parse(String((await api.readNamespacedLease({ name: 'pg-failover', namespace })).spec?.renewTime));
    const firstRenewal = await renewedAt();
    const rounds: Array<{ holder: boolean; candidate: boolean }> = [];
    await eventually(
      'renewals spanning three lease durations',
      async () => {
        rounds.push({ holder: await holder.acquire(cluster), candidate: await candidate.acquire(cluster) });
        return (await renewedAt()) - firstRenewal;
      },
      (span) => span >= 3 * durationSeconds * 1000,
    );
    expect(rounds.length).toBeGreaterThan(3);
    expect(rounds.filter((r) => !r.holder || r.candidate)).toEqual([]);
    // Dead: the holder stops renewing; the record stays unchanged and expires on the candidate's clock.
    await eventually('candidate takes over', () => candidate.acquire(cluster), Boolean);
    const lease = await api.readNamespacedLease({ name: 'pg-failover', namespace });
    expect(lease.spec?.holderIdentity).toBe('op-candidate');
    expect(lease.spec?.leaseTransitions).toBe(before + 1);
    expect(await holder.acquire(cluster)).toBe(false);
  });

  it.each([
    ['behind', -3_600_000],
    ['ahead of', 3_600_000],
  ])('when the leader\'s clock is an hour %s the standby\'s, then the standby never leads while the leader renews and leads once it is gone', async (_direction, skewMs) => {
    const events: string[] = [];
    let overlap = false;
    const a = elector('replica-a', events, { clock: skewed(skewMs), releaseOnCancel: false });
    a.start();
    await eventually('a leads', () => a.isLeader, Boolean);
    const b = elector('replica-b', events, {
      onStartedLeading: () => {
        if (a.isLeader) overlap = true;
        events.push('replica-b started');
      },
    });
    b.start();
    // Sentinel: the leader renews several times (more than two lease durations) with the standby campaigning meanwhile.
    const renewals = new Set<string>();
    await eventually(
      'renewals over two lease durations',
      async () => {
        const lease = await api.readNamespacedLease({ name: 'platform-operator', namespace });
        renewals.add(String(lease.spec?.renewTime?.valueOf()));
        return lease;
      },
      () => renewals.size >= Math.ceil((2 * timings.leaseDurationMs) / timings.retryPeriodMs) + 1,
    );
    expect(b.isLeader).toBe(false);
    await a.stop();
    await eventually('b leads', () => b.isLeader, Boolean);
    expect(overlap).toBe(false);
    expect(events).toEqual(['replica-a started', 'replica-a stopped', 'replica-b started']);
  });

  it('when a candidate read a dead holder\'s cluster Lease while idle, then it takes the Lease once the duration has passed since that read, not since its first acquire', async () => {
    const cluster = { namespace, name: 'pg' };
    let now = Date.now();
    const clock: Clock = { now: () => now, setTimer: systemClock.setTimer };
    const dead = new ClusterLease(kc, 'op-dead', { durationSeconds });
    expect(await dead.acquire(cluster)).toBe(true);
    const watchful = new ClusterLease(kc, 'op-watchful', { durationSeconds, clock });
    const late = new ClusterLease(kc, 'op-late', { durationSeconds, clock });
    await watchful.observe(cluster);
    now += durationSeconds * 1000 + 1;
    // First sight of the record now: it must stay unchanged for a whole duration from here.
    expect(await late.acquire(cluster)).toBe(false);
    // Seen unchanged for longer than its duration: taken at once.
    expect(await watchful.acquire(cluster)).toBe(true);
    expect((await api.readNamespacedLease({ name: 'pg-failover', namespace })).spec?.holderIdentity).toBe('op-watchful');
  });
});
