/**
 * CronTask execution against the real API server, one operator in-process
 * and a real HTTP target: claims, headers, history, concurrency policies,
 * resuming a claimed-but-unfinished run, catch-up within the starting
 * deadline, Job targets, and bad input.
 */
import { describe, expect, it } from '@jest/globals';
import { ApiException, BatchV1Api, CoordinationV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { Registry } from 'prom-client';
import { defaultLogger, silentLogger } from '../src/log.ts';
import type { Operator } from '../src/operator.ts';
import { CRONTASK, type CronTask } from '../src/reconcilers/crontask.ts';
import { CRONTASKRUN, type CronTaskRun, runName } from '../src/reconcilers/crontask-runs.ts';
import { CronTarget, overlapping } from './cron-target.ts';
import { useCronTaskFixture } from './crontask-fixture.ts';
import { eventually } from './helpers.ts';

// Roomy enough that a loaded CI box does not make the only replica lose its Lease mid-test.
const fx = useCronTaskFixture('cronrun', { leaseDurationMs: 4_000, renewDeadlineMs: 3_000, retryPeriodMs: 500 });
const { ref, read, eventReasons } = fx;

const plural = (p: string) => ({ group: CRONTASK.group, version: CRONTASK.version, plural: p });
const listRuns = async (): Promise<CronTaskRun[]> =>
  ((await fx.custom.listNamespacedCustomObject({ ...plural(CRONTASKRUN.plural), namespace: fx.namespace })) as { items: CronTaskRun[] }).items.sort((a, b) => a.spec.tick.localeCompare(b.spec.tick));

async function startOperator(identity = 'op-a'): Promise<{ operator: Operator; registry: Registry }> {
  const { operator, registry } = fx.operator(identity, process.env.BULWARK_TEST_LOG ? defaultLogger() : silentLogger);
  await operator.start();
  await eventually('leading', () => operator.elector.isLeader, Boolean);
  return { operator, registry };
}

async function startTarget(options: ConstructorParameters<typeof CronTarget>[0] = {}): Promise<{ target: CronTarget; url: string }> {
  const target = new CronTarget(options);
  fx.stopAfterTest(target);
  return { target, url: await target.start() };
}

function task(name: string, spec: Partial<CronTask['spec']> & Pick<CronTask['spec'], 'target'>): CronTask {
  return { apiVersion: `${CRONTASK.group}/${CRONTASK.version}`, kind: CRONTASK.kind, metadata: { name }, spec: { schedule: '* * * * * *', startingDeadlineSeconds: 10, ...spec } };
}

const create = (t: CronTask) => fx.custom.createNamespacedCustomObject({ ...ref(t.metadata?.name ?? ''), body: t }) as Promise<CronTask>;

describe('CronTask runs against the real API server', () => {
  it('when an HTTP task is due every second, then each tick is claimed once as a CronTaskRun and called with its idempotency key and the fencing token, and history is trimmed', async () => {
    await startOperator();
    const { target, url } = await startTarget();
    await create(task('every', { target: { url }, successfulRunsHistoryLimit: 2 }));
    await eventually('4 calls', () => target.calls.length, (n) => n >= 4, 20_000);
    const lease = await fx.kc.makeApiClient(CoordinationV1Api).readNamespacedLease({ name: 'platform-operator', namespace: fx.namespace });
    const [first] = target.calls;
    expect(first?.fencingToken).toBe(`${lease.spec?.leaseTransitions ?? -1}/op-a`);
    expect(first?.idempotencyKey).toBe(`${fx.namespace}/every/${first?.tick}`);
    expect(first?.run).toBe(runName('every', new Date(first?.tick ?? '')));
    expect(first?.attempt).toBe(1);
    // One call per tick, ticks one second apart.
    const ticks = target.calls.map((c) => Date.parse(c.tick));
    expect(new Set(ticks).size).toBe(ticks.length);
    const done = await eventually('status', () => read('every'), (t) => Boolean(t.status?.lastSuccessfulTime && t.status.lastScheduleTime));
    expect(done.status?.missedTicks).toBe(0);
    // History: at most 2 succeeded runs kept (plus one that may be running or not yet pruned).
    await eventually('history trimmed', listRuns, (runs) => runs.filter((r) => r.status?.phase === 'Succeeded').length <= 3 && target.calls.length >= 6, 20_000);
    const runs = await listRuns();
    expect(runs.every((r) => r.metadata?.ownerReferences?.[0]?.uid === done.metadata?.uid)).toBe(true);
    expect(runs[0]?.spec.fencing).toEqual({ holder: 'op-a', leaseTransitions: lease.spec?.leaseTransitions });
    expect(await eventReasons('every')).toContain('Normal Started');
  });

  it('when Forbid meets a run slower than the schedule, then calls never overlap and the ticks that waited past the deadline are recorded as skipped', async () => {
    await startOperator();
    const { target, url } = await startTarget({ delayMs: 2_500 });
    await create(task('forbid', { target: { url }, concurrencyPolicy: 'Forbid', startingDeadlineSeconds: 1 }));
    const t = await eventually('skips', () => read('forbid'), (x) => (x.status?.skippedTicks ?? 0) >= 2 && target.calls.length >= 2, 30_000);
    expect(t.status?.lastSkippedTime).toBeDefined();
    expect(overlapping(target.calls)).toEqual([]);
    expect(target.maxConcurrent).toBe(1);
    await eventually('Skipped event', () => eventReasons('forbid'), (r) => r.includes('Normal Skipped'));
  });

  it('when Forbid without a starting deadline holds a tick back behind a run that ends just after the next tick, then the held-back tick is skipped and none is missed (status, metric, Events)', async () => {
    const { registry } = await startOperator();
    // Every second, each call 2.3 s: the run of T holds T+1 back and ends just after T+2, which then fires.
    const { target, url } = await startTarget({ delayMs: 2_300 });
    await create(task('held', { target: { url }, concurrencyPolicy: 'Forbid', startingDeadlineSeconds: undefined }));
    const t = await eventually('held-back ticks recorded', () => read('held'), (x) => (x.status?.skippedTicks ?? 0) >= 2 && target.calls.filter((c) => c.endedAt).length >= 3, 30_000);
    expect(t.status?.missedTicks ?? 0).toBe(0);
    expect(t.status?.lastMissedTime).toBeUndefined();
    const ticks = async (outcome: string): Promise<number> => {
      const metric = registry.getSingleMetric('operator_crontask_ticks_total');
      const values = (metric ? (await metric.get()).values : []) as Array<{ value: number; labels: Record<string, string> }>;
      return values.filter((v) => v.labels.outcome === outcome).reduce((n, v) => n + v.value, 0);
    };
    expect(await ticks('skipped')).toBeGreaterThanOrEqual(2);
    expect(await ticks('missed')).toBe(0);
    const reasons = await eventually('Skipped event', () => eventReasons('held'), (r) => r.includes('Normal Skipped'));
    expect(reasons).not.toContain('Warning MissedTicks');
    expect(overlapping(target.calls)).toEqual([]);
  });

  it('when Allow meets a run slower than the schedule, then runs overlap', async () => {
    await startOperator();
    const { target, url } = await startTarget({ delayMs: 2_500 });
    await create(task('allow', { target: { url }, concurrencyPolicy: 'Allow' }));
    await eventually('concurrent calls', () => target.maxConcurrent, (n) => n >= 2, 20_000);
    const t = await eventually('several active', () => read('allow'), (x) => (x.status?.active?.length ?? 0) >= 2);
    expect(t.status?.skippedTicks ?? 0).toBe(0);
  });

  it('when Replace meets a running call, then the call is aborted, its run recorded Cancelled/Replaced, and the new tick starts', async () => {
    await startOperator();
    const { target, url } = await startTarget({ delayMs: 30_000 });
    await create(task('replace', { target: { url }, concurrencyPolicy: 'Replace', schedule: '*/2 * * * * *' }));
    await eventually('an aborted call', () => target.calls.filter((c) => c.aborted).length, (n) => n >= 1, 20_000);
    const runs = await eventually('a cancelled run', listRuns, (r) => r.some((x) => x.status?.phase === 'Cancelled'));
    expect(runs.find((x) => x.status?.phase === 'Cancelled')?.status?.reason).toBe('Replaced');
    await eventually('the newer tick called', () => target.calls.length, (n) => n >= 2);
    await eventually('Replaced event', () => eventReasons('replace'), (r) => r.includes('Normal Replaced'));
  });

  it('when a run was claimed but never finished (its leader died), then the new leader resumes it with the same idempotency key instead of firing the tick again', async () => {
    const { target, url } = await startTarget();
    // A task that will not fire by itself during the test, and a run left Running by a leader that is gone.
    const created = await create(task('resume', { target: { url }, schedule: '0 0 1 1 *', startingDeadlineSeconds: 3600 }));
    const tick = new Date(Math.floor(Date.now() / 1000) * 1000 - 5000);
    const name = runName('resume', tick);
    await fx.custom.createNamespacedCustomObject({
      ...plural(CRONTASKRUN.plural),
      namespace: fx.namespace,
      body: {
        apiVersion: `${CRONTASKRUN.group}/${CRONTASKRUN.version}`,
        kind: CRONTASKRUN.kind,
        metadata: { name, labels: { 'bulwark.dev/crontask-uid': created.metadata?.uid ?? '' }, annotations: { 'bulwark.dev/crontask': 'resume' } },
        spec: { task: 'resume', taskUid: created.metadata?.uid, tick: tick.toISOString(), idempotencyKey: `${fx.namespace}/resume/${tick.toISOString()}`, target: 'http', fencing: { holder: 'dead-leader', leaseTransitions: 0 } },
        status: { phase: 'Running', attempt: 1, fencing: { holder: 'dead-leader', leaseTransitions: 0 } },
      },
    });
    await startOperator('op-b');
    const run = await eventually('resumed and finished', () => fx.custom.getNamespacedCustomObject({ ...plural(CRONTASKRUN.plural), namespace: fx.namespace, name }) as Promise<CronTaskRun>, (r) => r.status?.phase === 'Succeeded');
    // Attempt 2, or more if op-b itself lost and regained the Lease meanwhile (each term resumes it again).
    expect(run.status?.attempt).toBeGreaterThanOrEqual(2);
    expect(run.status?.fencing?.holder).toBe('op-b');
    expect(run.spec.fencing.holder).toBe('dead-leader');
    expect(target.calls.length).toBeGreaterThanOrEqual(1);
    for (const call of target.calls) {
      expect(call).toEqual(expect.objectContaining({ idempotencyKey: `${fx.namespace}/resume/${tick.toISOString()}`, run: name, runUid: run.metadata?.uid }));
      expect(call.attempt).toBeGreaterThanOrEqual(2);
    }
    expect((await listRuns()).map((r) => r.metadata?.name)).toEqual([name]);
    await eventually('Resumed event', () => eventReasons('resume'), (r) => r.includes('Normal Resumed'));
  });

  it('when a Forbid run was left Running by a dead leader, then the ticks of the leaderless gap count as missed and only those held back behind the resumed run as skipped', async () => {
    const { target, url } = await startTarget({ delayMs: 3_000 });
    const created = await create(task('gap', { target: { url }, schedule: '*/2 * * * * *', concurrencyPolicy: 'Forbid', startingDeadlineSeconds: 4 }));
    // The dead leader claimed a tick 20 s ago and never finished it; nothing ran since.
    const tick = new Date(Math.floor((Date.now() - 20_000) / 2000) * 2000);
    const name = runName('gap', tick);
    const fencing = { holder: 'dead-leader', leaseTransitions: 0 };
    await fx.custom.createNamespacedCustomObject({
      ...plural(CRONTASKRUN.plural),
      namespace: fx.namespace,
      body: {
        apiVersion: `${CRONTASKRUN.group}/${CRONTASKRUN.version}`,
        kind: CRONTASKRUN.kind,
        metadata: { name, labels: { 'bulwark.dev/crontask-uid': created.metadata?.uid ?? '' }, annotations: { 'bulwark.dev/crontask': 'gap' } },
        spec: { task: 'gap', taskUid: created.metadata?.uid, tick: tick.toISOString(), idempotencyKey: `${fx.namespace}/gap/${tick.toISOString()}`, target: 'http', fencing },
        status: { phase: 'Running', attempt: 1, fencing },
      },
    });
    await startOperator('op-b');
    const t = await eventually('missed and skipped recorded', () => read('gap'), (x) => (x.status?.missedTicks ?? 0) > 0 && (x.status?.skippedTicks ?? 0) > 0, 30_000);
    const resumed = target.calls.find((c) => c.run === name);
    expect(resumed?.attempt).toBeGreaterThanOrEqual(2);
    // Missed: every tick from the dead leader's to lastMissedTime, all due before the takeover.
    const lastMissed = Date.parse(t.status?.lastMissedTime ?? '');
    expect(t.status?.missedTicks).toBe((lastMissed - tick.getTime()) / 2000);
    expect(t.status?.missedTicks).toBeGreaterThanOrEqual(6);
    expect(lastMissed).toBeLessThan(resumed?.startedAt ?? 0);
    // Skipped: ticks after the missed ones, which waited behind the resumed call until their deadline passed.
    expect(Date.parse(t.status?.lastSkippedTime ?? '')).toBeGreaterThan(lastMissed);
    expect(overlapping(target.calls)).toEqual([]);
  });

  it('when a new leader finds ticks unmet since lastScheduleTime, then it fires those within the starting deadline and counts the older ones as missed', async () => {
    const { target, url } = await startTarget();
    await create(task('catchup', { target: { url }, schedule: '*/5 * * * * *', startingDeadlineSeconds: 12, concurrencyPolicy: 'Allow', successfulRunsHistoryLimit: 20 }));
    // No leader yet: say the last tick fired a minute ago.
    const lastSchedule = new Date(Math.floor((Date.now() - 60_000) / 5000) * 5000);
    await fx.custom.patchNamespacedCustomObjectStatus(
      { ...ref('catchup'), body: { status: { lastScheduleTime: lastSchedule.toISOString() } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await startOperator();
    // Judged on the state the operator wrote, however long it took to start: every tick from the cursor up to
    // lastMissedTime is counted missed and none of them fired; the ticks after it were claimed late (a second or
    // more after the tick: the 12 s deadline holds at least two every-5-s ticks older than that) and called.
    const t = await eventually('missed counted', () => read('catchup'), (x) => (x.status?.missedTicks ?? 0) > 0);
    const lastMissed = Date.parse(t.status?.lastMissedTime ?? '');
    expect(t.status?.missedTicks).toBe((lastMissed - lastSchedule.getTime()) / 5000);
    expect(t.status?.missedTicks).toBeGreaterThanOrEqual(8);
    const runs = await listRuns();
    expect(runs.filter((r) => Date.parse(r.spec.tick) <= lastMissed)).toEqual([]);
    // creationTimestamp is whole seconds, server time (a string in the custom objects API's JSON).
    const late = runs.filter((r) => new Date(r.metadata?.creationTimestamp ?? 0).getTime() - Date.parse(r.spec.tick) >= 1000);
    expect(late.length).toBeGreaterThanOrEqual(2);
    expect(Date.parse(late[0]?.spec.tick ?? '')).toBe(lastMissed + 5000);
    await eventually('the late ticks called', () => target.calls.map((c) => c.tick), (ticks) => late.every((r) => ticks.includes(r.spec.tick)));
    expect(target.calls.every((c) => Date.parse(c.tick) > lastMissed)).toBe(true);
    await eventually('MissedTicks event', () => eventReasons('catchup'), (r) => r.includes('Warning MissedTicks'));
  });

  it('when the target is a Job template, then each tick creates a Job named like its run and owned by it, and the run follows the Job', async () => {
    await startOperator();
    await create(
      task('jobs', {
        schedule: '*/3 * * * * *',
        // managedBy keeps the built-in job controller out: the test plays it (the kwok nodes run no containers).
        target: {
          job: {
            spec: {
              managedBy: 'bulwark.dev/test-job-controller',
              backoffLimit: 0,
              template: { spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox:1.36', command: ['true'] }] } },
            },
          },
        },
      }),
    );
    const [run] = await eventually('a run', listRuns, (r) => r.length >= 1);
    const batch = fx.kc.makeApiClient(BatchV1Api);
    const job = await eventually('its Job', () => batch.readNamespacedJob({ name: run?.metadata?.name ?? '', namespace: fx.namespace }).catch(() => undefined), Boolean);
    expect(job?.metadata?.ownerReferences).toEqual([expect.objectContaining({ kind: 'CronTaskRun', name: run?.metadata?.name, uid: run?.metadata?.uid, controller: true })]);
    expect(job?.metadata?.annotations?.['bulwark.dev/idempotency-key']).toBe(run?.spec.idempotencyKey);
    // Report the Job finished, as its controller would.
    const completed = await batch.patchNamespacedJobStatus(
      {
        name: run?.metadata?.name ?? '',
        namespace: fx.namespace,
        body: {
          status: {
            startTime: new Date(),
            completionTime: new Date(),
            succeeded: 1,
            conditions: [
              { type: 'SuccessCriteriaMet', status: 'True', lastTransitionTime: new Date() },
              { type: 'Complete', status: 'True', lastTransitionTime: new Date() },
            ],
          },
        },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    ).catch((e: unknown) => e);
    if (completed instanceof Error) throw completed;
    await eventually('run succeeded', () => fx.custom.getNamespacedCustomObject({ ...plural(CRONTASKRUN.plural), namespace: fx.namespace, name: run?.metadata?.name ?? '' }) as Promise<CronTaskRun>, (r) => r.status?.phase === 'Succeeded');
  });
});

describe('CronTask bad input', () => {
  const rejected = async (spec: Record<string, unknown>): Promise<string> => {
    try {
      await fx.custom.createNamespacedCustomObject({ ...ref('bad'), body: { apiVersion: `${CRONTASK.group}/${CRONTASK.version}`, kind: CRONTASK.kind, metadata: { name: 'bad' }, spec } });
    } catch (error) {
      if (error instanceof ApiException && error.code === 422) return String(error.body);
      throw error;
    }
    throw new Error(`accepted: ${JSON.stringify(spec)}`);
  };

  it('when the spec is malformed, then the CRD schema rejects it', async () => {
    const url = 'http://example.invalid/hook';
    expect(await rejected({ schedule: 'every day', target: { url } })).toMatch(/schedule/);
    expect(await rejected({ schedule: '* * * * *', timeZone: 'Europe Berlin', target: { url } })).toMatch(/timeZone/);
    expect(await rejected({ schedule: '* * * * *', target: {} })).toMatch(/exactly one of target.url or target.job/);
    expect(await rejected({ schedule: '* * * * *', target: { url, job: { spec: {} } } })).toMatch(/exactly one of target.url or target.job/);
    expect(await rejected({ schedule: '* * * * *', target: { url: 'ftp://x' } })).toMatch(/target.url/);
    expect(await rejected({ schedule: '* * * * *', target: { url }, concurrencyPolicy: 'Sometimes' })).toMatch(/concurrencyPolicy/);
    expect(await rejected({ schedule: '* * * * *', target: { url }, startingDeadlineSeconds: -1 })).toMatch(/startingDeadlineSeconds/);
  });

  it('when the schedule has the right shape but impossible values, or the zone is unknown, then Ready is False and the operator keeps serving other tasks', async () => {
    const { operator } = await startOperator();
    const { target, url } = await startTarget();
    await create(task('values', { schedule: '61 * * * *', target: { url } }));
    await create(task('zone', { timeZone: 'Mars/Olympus', target: { url } }));
    await create(task('fine', { target: { url } }));
    for (const [name, message] of [
      ['values', /invalid schedule "61 \* \* \* \*"/],
      ['zone', /unknown time zone "Mars\/Olympus"/],
    ] as const) {
      const t = await eventually(`${name} reported`, () => read(name), (x) => x.status?.conditions?.[0]?.reason === 'InvalidSchedule');
      expect(t.status?.conditions?.[0]).toEqual(expect.objectContaining({ status: 'False', message: expect.stringMatching(message) }));
    }
    await eventually('the valid task fires', () => target.calls.length, (n) => n >= 2);
    expect(target.calls.every((c) => c.idempotencyKey.startsWith(`${fx.namespace}/fine/`))).toBe(true);
    expect(operator.elector.isLeader).toBe(true);
  });
});
