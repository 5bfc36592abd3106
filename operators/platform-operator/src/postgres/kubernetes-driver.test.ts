import { describe, expect, it } from '@jest/globals';
import type { V1Pod } from '@kubernetes/client-node';
import { fenced, podAlive } from './kubernetes-driver.ts';

const deleting = { name: 'pg-0', deletionTimestamp: new Date() };

describe('podAlive', () => {
  it('when a Pod runs, then it is alive; when it is being deleted, then it is not, whatever its phase says', () => {
    expect(podAlive({ metadata: { name: 'pg-0' }, status: { phase: 'Running' } })).toBe(true);
    expect(podAlive({ metadata: deleting, status: { phase: 'Running' } })).toBe(false);
  });

  it('when a Pod has ended, then it is not alive; when it is pending, then nobody knows', () => {
    expect(podAlive({ metadata: { name: 'pg-0' }, status: { phase: 'Failed' } })).toBe(false);
    expect(podAlive({ metadata: { name: 'pg-0' }, status: { phase: 'Succeeded' } })).toBe(false);
    expect(podAlive({ metadata: { name: 'pg-0' }, status: { phase: 'Pending' } })).toBeUndefined();
  });
});

describe('fenced', () => {
  const container = (state: NonNullable<NonNullable<V1Pod['status']>['containerStatuses']>[number]['state']) => ({ name: 'postgres', image: 'postgres', imageID: '', ready: false, restartCount: 0, state });

  it('when the deleted Pod still runs its container, then it is not fenced yet', () => {
    expect(fenced({ metadata: deleting, status: { containerStatuses: [container({ running: { startedAt: new Date() } })] } })).toBe(false);
  });

  it('when the deleted Pod reports no container yet, then it is not fenced yet', () => {
    expect(fenced({ metadata: deleting, status: {} })).toBe(false);
  });

  it('when every container of the deleted Pod has terminated, then it is fenced before the object goes', () => {
    expect(fenced({ metadata: deleting, status: { containerStatuses: [container({ terminated: { exitCode: 0 } })] } })).toBe(true);
  });

  it('when the Pod carries no deletion mark (the StatefulSet replaced it), then it is fenced: a new Pod starts as a standby', () => {
    expect(fenced({ metadata: { name: 'pg-0' }, status: { containerStatuses: [container({ running: {} })] } })).toBe(true);
  });
});
