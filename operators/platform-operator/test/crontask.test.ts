import { describe, expect, it } from '@jest/globals';
import { CoreV1Api, type V1ConfigMap } from '@kubernetes/client-node';
import type { Registry } from 'prom-client';
import { KubeWriter } from '../src/kube.ts';
import type { Operator } from '../src/operator.ts';
import { CRONTASK, CRONTASK_FINALIZER, type CronTask } from '../src/reconcilers/crontask.ts';
import { useCronTaskFixture } from './crontask-fixture.ts';
import { eventually, installCrds } from './helpers.ts';

const fx = useCronTaskFixture('crontask', { leaseDurationMs: 2_000, renewDeadlineMs: 1_500, retryPeriodMs: 300 });
const { ref, read, eventReasons } = fx;

function startOperator(identity: string): { operator: Operator; registry: Registry; started: Promise<{ url: string }> } {
  const { operator, registry } = fx.operator(identity);
  return { operator, registry, started: operator.start() };
}

function task(name: string, schedule: string, timeZone: string): CronTask {
  return {
    apiVersion: `${CRONTASK.group}/${CRONTASK.version}`,
    kind: CRONTASK.kind,
    metadata: { name },
    spec: { schedule, timeZone, target: { url: 'http://example.invalid/hook' } },
  };
}

function localHourMinute(iso: string, timeZone: string): string {
  return new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(iso));
}

describe('CronTask operator against the real API server', () => {
  it('when a CronTask is created, then the leader adds its finalizer, sets nextScheduleTime in its zone, Ready and observedGeneration, and records an Event', async () => {
    const { operator, started } = startOperator('op-a');
    await started;
    await eventually('leading', () => operator.elector.isLeader, Boolean);
    const createdAt = Date.now();
    await fx.custom.createNamespacedCustomObject({ ...ref('daily'), body: task('daily', '0 9 * * *', 'Europe/Berlin') });
    const done = await eventually('status', () => read('daily'), (t) => t.status?.observedGeneration === 1 && Boolean(t.status.nextScheduleTime));
    const next = done.status?.nextScheduleTime ?? '';
    expect(localHourMinute(next, 'Europe/Berlin')).toBe('09:00');
    expect(Date.parse(next)).toBeGreaterThan(createdAt);
    expect(Date.parse(next) - createdAt).toBeLessThanOrEqual(24 * 3600_000);
    expect(done.metadata?.finalizers).toEqual([CRONTASK_FINALIZER]);
    expect(done.status?.conditions).toEqual([expect.objectContaining({ type: 'Ready', status: 'True', reason: 'Scheduled', observedGeneration: 1 })]);
    await eventually('Scheduled event', () => eventReasons('daily'), (r) => r.includes('Normal Scheduled'));
  });

  it('when the schedule becomes invalid, then Ready turns False with InvalidSchedule for the new generation and a Warning is recorded', async () => {
    const { started } = startOperator('op-a');
    await started;
    await fx.custom.createNamespacedCustomObject({ ...ref('broken'), body: task('broken', '*/5 * * * *', 'UTC') });
    await eventually('scheduled', () => read('broken'), (t) => t.status?.observedGeneration === 1);
    await fx.custom.patchNamespacedCustomObject(
      { ...ref('broken'), body: [{ op: 'replace', path: '/spec/timeZone', value: 'Mars/Olympus' }] },
    );
    const broken = await eventually('invalid', () => read('broken'), (t) => t.status?.observedGeneration === 2);
    expect(broken.status?.conditions?.[0]).toEqual(expect.objectContaining({ status: 'False', reason: 'InvalidSchedule', message: 'unknown time zone "Mars/Olympus"' }));
    expect(broken.status?.nextScheduleTime).toBeUndefined();
    await eventually('Warning event', () => eventReasons('broken'), (r) => r.includes('Warning InvalidSchedule'));
  });

  it('when a CronTask is deleted, then the operator removes its finalizer and the object goes away', async () => {
    const { started } = startOperator('op-a');
    await started;
    await fx.custom.createNamespacedCustomObject({ ...ref('doomed'), body: task('doomed', '@hourly', 'UTC') });
    await eventually('finalizer', () => read('doomed'), (t) => t.metadata?.finalizers?.includes(CRONTASK_FINALIZER) === true);
    await fx.custom.deleteNamespacedCustomObject(ref('doomed'));
    await eventually('gone', () => read('doomed').then(() => false, (e: { code?: number }) => e.code === 404), Boolean);
  });

  it('when two replicas run, then only the leader reconciles, and after it stops the other takes over', async () => {
    const a = startOperator('op-a');
    await a.started;
    await eventually('a leads', () => a.operator.elector.isLeader, Boolean);
    const b = startOperator('op-b');
    await b.started;
    await fx.custom.createNamespacedCustomObject({ ...ref('shared'), body: task('shared', '0 0 * * *', 'UTC') });
    await eventually('reconciled', () => read('shared'), (t) => t.status?.observedGeneration === 1);
    const reconciles = async (registry: Registry): Promise<number> => {
      const metric = registry.getSingleMetric('operator_reconcile_total');
      return ((metric ? (await metric.get()).values : []) as Array<{ value: number }>).reduce((n, v) => n + v.value, 0);
    };
    expect(await reconciles(a.registry)).toBeGreaterThan(0);
    expect(await reconciles(b.registry)).toBe(0);
    await fx.stopOperator(a.operator);
    await eventually('b leads', () => b.operator.elector.isLeader, Boolean);
    await fx.custom.patchNamespacedCustomObject({ ...ref('shared'), body: [{ op: 'replace', path: '/spec/schedule', value: '0 12 * * *' }] });
    const after = await eventually('b reconciled', () => read('shared'), (t) => t.status?.observedGeneration === 2);
    expect(after.status?.nextScheduleTime).toMatch(/T12:00:00/);
    expect(await reconciles(b.registry)).toBeGreaterThan(0);
  });

  it('when the operator runs, then /healthz, /readyz and /metrics answer', async () => {
    const { operator, started } = startOperator('op-a');
    const { url } = await started;
    await eventually('leading', () => operator.elector.isLeader, Boolean);
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok', leader: true });
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toContain('operator_leader_is_leader{lease="platform-operator",identity="op-a"} 1');
    expect(metrics).toContain('operator_leader_transitions_total{lease="platform-operator",event="started"} 1');
    expect(metrics).toContain('# TYPE operator_informer_watch_restarts_total counter');
  });
});

describe('server-side apply of owned objects', () => {
  it('when an owned ConfigMap is applied, changed by someone else and applied again, then the operator owns it and its fields win', async () => {
    const { kc, namespace } = fx;
    const writer = new KubeWriter(kc, 'test');
    const core = kc.makeApiClient(CoreV1Api);
    await installCrds();
    const owner = (await fx.custom.createNamespacedCustomObject({ ...ref('owner'), body: task('owner', '@daily', 'UTC') })) as CronTask;
    const desired: V1ConfigMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'owned', namespace }, data: { schedule: '@daily' } };
    await writer.applyOwned(desired, owner);
    await core.replaceNamespacedConfigMap({ name: 'owned', namespace, body: { ...(await core.readNamespacedConfigMap({ name: 'owned', namespace })), data: { schedule: 'tampered' } } });
    const applied = await writer.applyOwned(desired, owner);
    expect(applied.data).toEqual({ schedule: '@daily' });
    expect(applied.metadata?.ownerReferences).toEqual([expect.objectContaining({ kind: 'CronTask', name: 'owner', uid: owner.metadata?.uid, controller: true })]);
    expect(applied.metadata?.managedFields?.some((f) => f.manager === 'bulwark-operator' && f.operation === 'Apply')).toBe(true);
  });
});
