/**
 * Which step a change may take, decided without a database: the state
 * machine pending → expanded → (backfilling →) backfilled → verified →
 * contracted, the rollback of each step, and the guards on the versions the
 * live instances registered.
 */
import { changeId, type ZeroDowntimeChange } from './change.ts';
import { ZeroDowntimeError } from './errors.ts';

export type ChangeState = 'pending' | 'expanded' | 'backfilling' | 'backfilled' | 'verified' | 'contracted';
export type ChangeStep = 'expand' | 'backfill' | 'verify' | 'contract';

export interface LiveInstance {
  instanceId: string;
  app: string;
  schemaVersion: number;
}

/** The step a change in `state` takes next; undefined once contracted. */
export function nextStep(state: ChangeState): ChangeStep | undefined {
  switch (state) {
    case 'pending':
      return 'expand';
    case 'expanded':
    case 'backfilling':
      return 'backfill';
    case 'backfilled':
      return 'verify';
    case 'verified':
      return 'contract';
    case 'contracted':
      return undefined;
  }
}

/** Throws DB_ZDM_STEP_ORDER unless `step` is the change's next step (a change without backfill goes from expanded to verify). */
export function assertStep(change: ZeroDowntimeChange, state: ChangeState, step: ChangeStep): void {
  let next = nextStep(state);
  if (next === 'backfill' && !change.backfill) next = 'verify';
  if (next === 'verify' && !change.verify) next = 'contract';
  if (next !== step) {
    throw new ZeroDowntimeError('DB_ZDM_STEP_ORDER', `change ${changeId(change)} is ${state}: its next step is ${next ?? 'none (contracted)'}, not ${step}`, { change: changeId(change), state, step, next });
  }
}

/** Instances that still need the shape before `change` (registered a lower version). */
export function instancesNeedingOldShape(change: Pick<ZeroDowntimeChange, 'version'>, live: readonly LiveInstance[]): LiveInstance[] {
  return live.filter((i) => i.schemaVersion < change.version);
}

/** Instances that use what `change` added (registered its version or later). */
export function instancesNeedingNewShape(change: Pick<ZeroDowntimeChange, 'version'>, live: readonly LiveInstance[]): LiveInstance[] {
  return live.filter((i) => i.schemaVersion >= change.version);
}

function describeInstances(instances: readonly LiveInstance[]): string {
  const shown = instances.slice(0, 5).map((i) => `${i.app}/${i.instanceId} (v${i.schemaVersion})`);
  return shown.join(', ') + (instances.length > 5 ? ` and ${instances.length - 5} more` : '');
}

/** Contract, or the expand of an incompatible change, only while no live instance needs the old shape. */
export function assertOldShapeUnused(change: ZeroDowntimeChange, step: 'contract' | 'expand', live: readonly LiveInstance[]): void {
  const blockers = instancesNeedingOldShape(change, live);
  if (blockers.length === 0) return;
  const why = step === 'contract' ? 'contract would drop the old shape' : 'the change is not compatible with the previous release';
  throw new ZeroDowntimeError(
    'DB_ZDM_OLD_VERSION_LIVE',
    `${step} of ${changeId(change)} refused: ${why} and ${blockers.length} live instance${blockers.length > 1 ? 's' : ''} registered a schema version below ${change.version}: ${describeInstances(blockers)}`,
    { change: changeId(change), instances: blockers },
  );
}

export type RollbackAction =
  | { kind: 'state'; to: ChangeState; resetProgress: boolean }
  | { kind: 'down'; to: 'pending' };

/**
 * What rolling back the last step of a change in `state` does: verify and
 * backfill only move the state back (backfilled values are harmless and the
 * backfill starts over), expand runs its `down` SQL, contract is refused.
 */
export function planRollback(change: ZeroDowntimeChange, state: ChangeState, live: readonly LiveInstance[]): RollbackAction {
  switch (state) {
    case 'contracted':
      throw new ZeroDowntimeError(
        'DB_ZDM_IRREVERSIBLE',
        `change ${changeId(change)} cannot roll back: contract is one-way (it dropped the old shape and its data); fix forward with a new change`,
        { change: changeId(change), state },
      );
    case 'verified':
      return { kind: 'state', to: change.backfill ? 'backfilled' : 'expanded', resetProgress: false };
    case 'backfilled':
    case 'backfilling':
      return { kind: 'state', to: 'expanded', resetProgress: true };
    case 'expanded': {
      const users = instancesNeedingNewShape(change, live);
      if (users.length > 0) {
        throw new ZeroDowntimeError(
          'DB_ZDM_NEW_VERSION_LIVE',
          `rollback of ${changeId(change)}'s expand refused: ${users.length} live instance${users.length > 1 ? 's' : ''} use the new shape: ${describeInstances(users)}; roll the release back first`,
          { change: changeId(change), instances: users },
        );
      }
      return { kind: 'down', to: 'pending' };
    }
    case 'pending':
      throw new ZeroDowntimeError('DB_ZDM_STEP_ORDER', `change ${changeId(change)} is pending: nothing to roll back`, { change: changeId(change), state });
  }
}
