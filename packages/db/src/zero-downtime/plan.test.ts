import { describe, expect, it } from '@jest/globals';
import { defineChanges, type ZeroDowntimeChange } from './change.ts';
import { assertOldShapeUnused, assertStep, instancesNeedingOldShape, nextStep, planRollback, type LiveInstance } from './plan.ts';

const change: ZeroDowntimeChange = {
  version: 4,
  name: 'rename_x',
  compatibleWithPrevious: true,
  expand: { sql: 'ALTER TABLE t ADD COLUMN y int', down: 'ALTER TABLE t DROP COLUMN y' },
  backfill: { table: 't', key: 'id', sql: 'UPDATE t SET y = x WHERE id BETWEEN $1 AND $2' },
  verify: 'SELECT count(*) AS disagreements FROM t WHERE y IS DISTINCT FROM x',
  contract: { sql: 'ALTER TABLE t DROP COLUMN x' },
};
const instance = (schemaVersion: number, instanceId = `i${schemaVersion}`): LiveInstance => ({ instanceId, app: 'orders', schemaVersion });

describe('nextStep and assertStep', () => {
  it('when a change moves along, then each state has one next step', () => {
    expect(['pending', 'expanded', 'backfilling', 'backfilled', 'verified', 'contracted'].map((s) => nextStep(s as never))).toEqual(['expand', 'backfill', 'backfill', 'verify', 'contract', undefined]);
  });

  it('when a step is taken out of order, then it is refused naming the next step', () => {
    expect(() => assertStep(change, 'expanded', 'contract')).toThrow(expect.objectContaining({ code: 'DB_ZDM_STEP_ORDER', message: expect.stringContaining('its next step is backfill, not contract') }));
  });

  it('when a change has no backfill nor verify, then expand is followed by contract', () => {
    const small = { ...change, backfill: undefined, verify: undefined };
    expect(() => assertStep(small, 'expanded', 'contract')).not.toThrow();
  });
});

describe('the version guard', () => {
  it('when instances registered lower versions, then they need the old shape and contract is refused naming them', () => {
    const live = [instance(3), instance(4), instance(5)];
    expect(instancesNeedingOldShape(change, live)).toEqual([instance(3)]);
    expect(() => assertOldShapeUnused(change, 'contract', live)).toThrow(expect.objectContaining({ code: 'DB_ZDM_OLD_VERSION_LIVE', message: expect.stringContaining('orders/i3 (v3)') }));
    expect(() => assertOldShapeUnused(change, 'contract', [instance(4), instance(5)])).not.toThrow();
  });
});

describe('planRollback', () => {
  it('when verified or backfilled, then only the state goes back (backfill progress reset)', () => {
    expect(planRollback(change, 'verified', [])).toEqual({ kind: 'state', to: 'backfilled', resetProgress: false });
    expect(planRollback(change, 'backfilling', [])).toEqual({ kind: 'state', to: 'expanded', resetProgress: true });
  });

  it('when expanded, then down runs unless a live instance uses the new shape', () => {
    expect(planRollback(change, 'expanded', [instance(3)])).toEqual({ kind: 'down', to: 'pending' });
    expect(() => planRollback(change, 'expanded', [instance(4)])).toThrow(expect.objectContaining({ code: 'DB_ZDM_NEW_VERSION_LIVE' }));
  });

  it('when contracted, then it is refused as one-way', () => {
    expect(() => planRollback(change, 'contracted', [])).toThrow(expect.objectContaining({ code: 'DB_ZDM_IRREVERSIBLE', message: expect.stringContaining('contract is one-way') }));
  });
});

describe('defineChanges', () => {
  it('when two changes share a version or a backfill names a non-identifier, then they are refused', () => {
    expect(() => defineChanges([change, { ...change, name: 'other' }])).toThrow(/share version 4/);
    expect(() => defineChanges([{ ...change, backfill: { ...change.backfill!, table: 't; DROP' } }])).toThrow(/plain identifiers/);
    expect(defineChanges([{ ...change, version: 9 }, change]).map((c) => c.version)).toEqual([4, 9]);
  });
});
