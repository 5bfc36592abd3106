import { describe, expect, it } from '@jest/globals';
import {
  chooseCandidate,
  type ClusterHistory,
  chooseAction,
  desiredSyncNames,
  failoverSteps,
  type InstanceProbe,
  type PostgresClusterSpec,
  SPEC_DEFAULTS,
  validateSpec,
} from './postgrescluster-policy.ts';

const spec = (over: Partial<PostgresClusterSpec> = {}): PostgresClusterSpec => ({ ...SPEC_DEFAULTS, instances: 3, ...over });
const history = (over: Partial<ClusterHistory> = {}): ClusterHistory => ({ currentPrimary: 'pg-0', failures: 0, syncStandbys: [], pendingRejoin: [], ...over });
const primary = (name = 'pg-0', lsn = 1000n): InstanceProbe => ({ name, reachable: true, alive: true, inRecovery: false, currentLsn: lsn, replicas: [] });
const replica = (name: string, receiveLsn: bigint, over: Partial<InstanceProbe> = {}): InstanceProbe => ({ name, reachable: true, alive: true, inRecovery: true, receiveLsn, replayLsn: receiveLsn, ...over });
const down = (name = 'pg-0', over: Partial<InstanceProbe> = {}): InstanceProbe => ({ name, reachable: false, error: 'timeout', ...over });

describe('validateSpec', () => {
  it('when the spec is impossible, then every problem is named', () => {
    expect(validateSpec(spec({ instances: 0, failureThreshold: 0, replication: 'semi' as 'sync', probeIntervalMs: 1.5 }))).toEqual([
      'spec.instances must be an integer in [1, 9] (got 0)',
      'spec.failureThreshold must be an integer in [1, 100] (got 0)',
      'spec.probeIntervalMs must be an integer in [100, 60000] (got 1.5)',
      'spec.replication must be "sync" or "async" (got "semi")',
    ]);
  });

  it('when sync replication has a single instance, then it is rejected', () => {
    expect(validateSpec(spec({ instances: 1, replication: 'sync' }))).toEqual(['spec.replication "sync" needs at least 2 instances']);
    expect(validateSpec(spec({ instances: 2, replication: 'sync' }))).toEqual([]);
  });
});

describe('chooseAction', () => {
  it('when the spec is invalid, then nothing is acted on', () => {
    expect(chooseAction(spec({ instances: 12 }), history(), [down()])).toEqual({ kind: 'invalid', problems: ['spec.instances must be an integer in [1, 9] (got 12)'] });
  });

  it('when no primary is recorded and exactly one instance is writable, then it becomes the primary', () => {
    expect(chooseAction(spec(), history({ currentPrimary: undefined }), [replica('pg-1', 5n), primary('pg-0')])).toEqual({ kind: 'bootstrap', primary: 'pg-0' });
  });

  it('when no primary is recorded and two instances are writable, then it refuses to guess', () => {
    const d = chooseAction(spec(), history({ currentPrimary: undefined }), [primary('pg-0'), primary('pg-1')]);
    expect(d.kind).toBe('wait');
  });

  it('when the primary fails fewer times than the threshold, then it is only suspect; at the threshold, failover', () => {
    expect(chooseAction(spec({ failureThreshold: 3 }), history({ failures: 1 }), [down(), replica('pg-1', 900n)])).toEqual({ kind: 'suspect', failures: 2, reason: 'probe failed: timeout' });
    expect(chooseAction(spec({ failureThreshold: 3 }), history({ failures: 2 }), [down(), replica('pg-1', 900n)])).toEqual({ kind: 'failover', from: 'pg-0', reason: 'probe failed: timeout' });
  });

  it('when the host view says the primary is gone, then failover does not wait for the threshold', () => {
    expect(chooseAction(spec({ failureThreshold: 5 }), history(), [down('pg-0', { alive: false })])).toEqual({ kind: 'failover', from: 'pg-0', reason: 'instance gone (host view)' });
  });

  it('when the recorded primary is in recovery, then that counts as a failure', () => {
    expect(chooseAction(spec({ failureThreshold: 1 }), history(), [replica('pg-0', 5n)])).toEqual({ kind: 'failover', from: 'pg-0', reason: 'primary is in recovery' });
  });

  it('when the primary is healthy and another instance is writable or pending rejoin, then those rejoin', () => {
    const d = chooseAction(spec(), history({ pendingRejoin: ['pg-2'] }), [primary('pg-0'), primary('pg-1'), replica('pg-2', 5n), replica('pg-3', 5n)]);
    expect(d).toEqual({ kind: 'healthy', rejoin: ['pg-1', 'pg-2'] });
  });

  it('when a fenced former primary is known stopped, then it rejoins; an unknown unreachable one waits', () => {
    const d = chooseAction(spec(), history({ pendingRejoin: ['pg-1', 'pg-2'] }), [primary('pg-0'), down('pg-1', { alive: false }), down('pg-2'), down('pg-3', { alive: false })]);
    expect(d).toEqual({ kind: 'healthy', rejoin: ['pg-1'] });
  });

  it('when a switchover is requested and the primary is healthy, then switchover; when the primary is failing, failure handling wins', () => {
    expect(chooseAction(spec(), history(), [primary(), replica('pg-1', 5n)], 'pg-1')).toEqual({ kind: 'switchover', from: 'pg-0', to: 'pg-1' });
    expect(chooseAction(spec(), history(), [primary(), replica('pg-1', 5n)], '')).toEqual({ kind: 'switchover', from: 'pg-0', to: undefined });
    expect(chooseAction(spec({ failureThreshold: 1 }), history(), [down(), replica('pg-1', 5n)], 'pg-1').kind).toBe('failover');
  });
});

describe('chooseCandidate', () => {
  const base = { lastPrimaryLsn: 1000n, maxLagBytes: 100, replication: 'async' as const, syncStandbys: [] };

  it('when several replicas are eligible, then the highest received LSN wins', () => {
    expect(chooseCandidate({ ...base, replicas: [replica('pg-1', 950n), replica('pg-2', 990n), replica('pg-3', 980n)] })).toEqual({ name: 'pg-2', lsn: 990n });
  });

  it('when received LSNs tie, then the higher replay LSN and then the name decide', () => {
    expect(chooseCandidate({ ...base, replicas: [replica('pg-2', 990n, { replayLsn: 980n }), replica('pg-1', 990n, { replayLsn: 970n })] }).name).toBe('pg-2');
    expect(chooseCandidate({ ...base, replicas: [replica('pg-2', 990n), replica('pg-1', 990n)] }).name).toBe('pg-1');
  });

  it('when the best replica lags beyond maxLagBytes, then it is rejected with the reason', () => {
    const c = chooseCandidate({ ...base, replicas: [replica('pg-1', 800n)] });
    expect(c).toEqual({ reason: 'no eligible replica', rejected: [{ name: 'pg-1', reason: 'lag 200 bytes > maxLagBytes 100' }] });
  });

  it('when a replica is ahead of the last primary probe, then lag is measured from it', () => {
    const c = chooseCandidate({ ...base, replicas: [replica('pg-1', 1200n), replica('pg-2', 1050n)] });
    expect(c).toEqual({ name: 'pg-1', lsn: 1200n });
    const strict = chooseCandidate({ ...base, maxLagBytes: 100, replicas: [replica('pg-1', 1200n, { reachable: false }), replica('pg-2', 1050n)] });
    // The unreachable replica still proves how far WAL got: pg-2 is 150 bytes behind it.
    expect(strict.name).toBe(undefined);
  });

  it('when replication is sync, then only a replica recorded as synchronous qualifies, even if another is further ahead', () => {
    const c = chooseCandidate({ ...base, replication: 'sync', syncStandbys: ['pg-1'], replicas: [replica('pg-1', 990n), replica('pg-2', 999n)] });
    expect(c).toEqual({ name: 'pg-1', lsn: 990n });
    const none = chooseCandidate({ ...base, replication: 'sync', syncStandbys: [], replicas: [replica('pg-2', 999n)] });
    expect(none).toEqual({ reason: 'no eligible replica', rejected: [{ name: 'pg-2', reason: 'was not a synchronous standby' }] });
  });

  it('when replicas are unreachable or writable, then they are rejected', () => {
    const c = chooseCandidate({ ...base, replicas: [down('pg-1'), primary('pg-2')] });
    expect(c.name).toBeUndefined();
    expect('rejected' in c && c.rejected.map((r) => r.reason)).toEqual(['unreachable: timeout', 'not a replica (not in recovery)']);
  });

  it('when a switchover names a target, then only that target is considered', () => {
    expect(chooseCandidate({ ...base, only: 'pg-1', replicas: [replica('pg-1', 950n), replica('pg-2', 990n)] })).toEqual({ name: 'pg-1', lsn: 950n });
  });
});

describe('failover order', () => {
  it('fences (unroute, then stop) before choosing and promoting, and routes only after promotion', () => {
    const steps = failoverSteps();
    const at = (s: (typeof steps)[number]): number => steps.indexOf(s);
    expect(at('acquireLease')).toBe(0);
    expect(at('unrouteOldPrimary')).toBeLessThan(at('stopOldPrimary'));
    expect(at('stopOldPrimary')).toBeLessThan(at('chooseCandidate'));
    expect(at('probeReplicas')).toBeLessThan(at('chooseCandidate'));
    expect(at('chooseCandidate')).toBeLessThan(at('promote'));
    expect(at('promote')).toBeLessThan(at('routeNewPrimary'));
    expect(at('recordStatus')).toBe(steps.length - 1);
  });

  it('keeps synchronous commit only while a standby streams', () => {
    expect(desiredSyncNames('sync', 1)).toBe('FIRST 1 (*)');
    expect(desiredSyncNames('sync', 0)).toBe('');
    expect(desiredSyncNames('async', 2)).toBe('');
  });
});
