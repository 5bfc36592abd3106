/**
 * Operator processes (src/main.ts as child processes) against the real API
 * server, calling the example idempotent target (idempotent-target.ts):
 * identities unique per process without POD_NAME, and a restart under the
 * same name starting a new term that the target can tell from the old one.
 */
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { CoordinationV1Api } from '@kubernetes/client-node';
import { CRONTASK, type CronTask } from '../src/reconcilers/crontask.ts';
import { useCronTaskFixture } from './crontask-fixture.ts';
import { eventually } from './helpers.ts';
import { type Delivery, IdempotentTarget } from './idempotent-target.ts';
import { type OperatorProcess, spawnOperator } from './operator-process.ts';

// Roomy enough that a loaded box does not make a leader lose its Lease mid-test.
const timings = { leaseDurationMs: 5_000, renewDeadlineMs: 4_000, retryPeriodMs: 1_000 };
const fx = useCronTaskFixture('cronproc', timings);
const logDir = mkdtempSync(join(tmpdir(), 'cron-processes-'));

async function start(podName?: string): Promise<OperatorProcess> {
  const op = await spawnOperator({ namespace: fx.namespace, podName, logDir, timings });
  fx.stopAfterTest({
    stop: async () => {
      if (op.child.exitCode !== null || op.child.signalCode !== null) return;
      op.child.kill('SIGKILL');
      await once(op.child, 'exit');
    },
  });
  return op;
}

async function startTarget(): Promise<{ target: IdempotentTarget; url: string }> {
  const target = new IdempotentTarget();
  fx.stopAfterTest(target);
  return { target, url: await target.start() };
}

async function createTask(name: string, url: string): Promise<void> {
  const body: CronTask = {
    apiVersion: `${CRONTASK.group}/${CRONTASK.version}`,
    kind: CRONTASK.kind,
    metadata: { name },
    spec: { schedule: '* * * * * *', target: { url }, concurrencyPolicy: 'Forbid', startingDeadlineSeconds: 30 },
  };
  await fx.custom.createNamespacedCustomObject({ ...fx.ref(name), body });
}

const holderOfLease = async (): Promise<string | undefined> =>
  (
    await fx.kc
      .makeApiClient(CoordinationV1Api)
      .readNamespacedLease({ name: 'platform-operator', namespace: fx.namespace })
      .catch(() => undefined)
  )?.spec?.holderIdentity || undefined;

describe('CronTask with operator processes (src/main.ts) and an idempotent target', () => {
  it('when two processes start without POD_NAME, then their identities differ, exactly one leads and no tick reaches the target twice', async () => {
    const { target, url } = await startTarget();
    const ops = await Promise.all([start(), start()]);
    const [a, b] = ops as [OperatorProcess, OperatorProcess];
    expect(a.identity).not.toBe(b.identity);
    for (const op of ops) expect(op.identity.startsWith(`${hostname().slice(0, 100)}-`)).toBe(true);
    await createTask('every', url);
    // While ten ticks are delivered, no sample ever shows both leading.
    const samples: Array<Array<boolean | undefined>> = [];
    await eventually(
      'ten ticks delivered',
      async () => {
        samples.push(await Promise.all(ops.map((op) => op.leads())));
        return target.done.length;
      },
      (n) => n >= 10,
      60_000,
    );
    expect(samples.filter((s) => s.filter(Boolean).length > 1)).toEqual([]);
    const leaders = ops.filter((_, i) => samples.at(-1)?.[i] === true);
    expect(leaders).toHaveLength(1);
    expect(await holderOfLease()).toBe(leaders[0]?.identity);
    // No tick twice: a key delivered again is only legitimate as a resumption by a later term (a larger token);
    // two leaders under one name delivered the same key twice with the same token.
    const first = new Map<string, Delivery>();
    const twice: Delivery[] = [];
    for (const d of target.log) {
      const seen = first.get(d.idempotencyKey);
      if (!seen) first.set(d.idempotencyKey, d);
      else if (d.term <= seen.term) twice.push(d);
    }
    expect(twice).toEqual([]);
    expect(target.log.filter((d) => d.verdict === 'fenced')).toEqual([]);
    expect(target.log.at(-1)?.fencingToken.endsWith(`/${leaders[0]?.identity ?? '?'}`)).toBe(true);
  });

  it('when the leader is killed and restarted under the same name, then the new process leads with a larger fencing token and the target refuses the old incarnation\'s late call', async () => {
    const { target, url } = await startTarget();
    const first = await start('op-c');
    await eventually('op-c leads', () => first.leads(), Boolean);
    await createTask('every', url);
    const before = await eventually('calls from the first process', () => target.done, (d) => d.length >= 2);
    const oldCall = before.at(-1) as Delivery;
    expect(oldCall.fencingToken).toBe(`${oldCall.term}/${first.identity}`);

    first.child.kill('SIGKILL');
    await once(first.child, 'exit');
    const second = await start('op-c');
    expect(second.identity).not.toBe(first.identity);
    expect(second.identity.startsWith('op-c-')).toBe(true);
    const after = await eventually('calls from the restarted process', () => target.done.filter((d) => d.fencingToken.endsWith(`/${second.identity}`)), (d) => d.length >= 2);
    expect(after[0]?.term).toBeGreaterThan(oldCall.term);
    const lease = await fx.kc.makeApiClient(CoordinationV1Api).readNamespacedLease({ name: 'platform-operator', namespace: fx.namespace });
    expect(lease.spec?.leaseTransitions).toBe(after[0]?.term);

    // The dead incarnation's call arriving late: its own tick again, and a tick it never sent.
    const late = async (key: string): Promise<Response> =>
      fetch(url, {
        method: 'POST',
        headers: { 'Idempotency-Key': key, 'Bulwark-Fencing-Token': oldCall.fencingToken, 'Bulwark-Tick': oldCall.tick, 'Bulwark-Attempt': '1' },
      });
    for (const key of [oldCall.idempotencyKey, `${fx.namespace}/every/2999-01-01T00:00:00.000Z`]) {
      const res = await late(key);
      expect(res.status).toBe(409);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect(((await res.json()) as { title: string }).title).toBe('Stale fencing token');
    }
    // And every tick's work was done once.
    const keys = target.done.map((d) => d.idempotencyKey);
    expect(new Set(keys).size).toBe(keys.length);
  });
});
