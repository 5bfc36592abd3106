/**
 * Use cases of flags and segments. Every write is one transaction that
 * changes the row, appends the audit trail (who, what, before, after; its id
 * is the tenant's new revision) and queues the CloudEvent; after commit the
 * tenant's snapshot streams are refreshed.
 */
import { currentDbContext, withTransaction, type DbPool } from '@bulwark/db';
import { flagsError } from '../errors.ts';
import { recordFlagsEvent } from '../events/flags-events.ts';
import type { FlagInput, ScheduledChangeInput, SegmentInput } from '../http/schemas.ts';
import type { FlagsMetrics } from '../metrics.ts';
import * as store from '../store/flag-store.ts';
import type { ChangeRecord, FlagRecord, SegmentRecord } from '../store/flag-store.ts';
import type { SnapshotHub } from './snapshot-hub.ts';
import { flagIssues } from './validate.ts';

export interface FlagsDeps {
  pool: DbPool;
  hub: SnapshotHub;
  metrics: FlagsMetrics;
}

export type Tx = Parameters<Parameters<typeof withTransaction>[1]>[0];

export function requireTenant(): string {
  const context = currentDbContext();
  if (context?.kind !== 'tenant') throw flagsError('FLAGS_TENANT_REQUIRED', 'flags belong to a tenant: no verified tenant on the request');
  return context.tenant;
}

/** Appends the audit trail and the event in the change's transaction; returns the revision. */
export async function recordChange(tx: Tx, tenant: string, change: Omit<ChangeRecord, 'id' | 'at'>): Promise<number> {
  const revision = await store.recordChange(tx, change);
  const kind = change.entity === 'flag' ? 'flag-changed' : change.entity === 'segment' ? 'segment-changed' : 'experiment-changed';
  await recordFlagsEvent(tx, kind, change.key, { tenant, key: change.key, action: change.action, actorSub: change.actor, revision, before: change.before ?? null, after: change.after ?? null });
  return revision;
}

async function write<T>(deps: FlagsDeps, entity: ChangeRecord['entity'], action: string, fn: (tx: Tx, tenant: string) => Promise<T>): Promise<T> {
  const tenant = requireTenant();
  const result = await withTransaction(deps.pool, (tx) => fn(tx, tenant));
  deps.metrics.changes.inc({ entity, action });
  deps.hub.changed(tenant);
  return result;
}

export async function putFlag(deps: FlagsDeps, actor: string, key: string, input: FlagInput): Promise<{ flag: FlagRecord; created: boolean }> {
  return write(deps, 'flag', 'put', async (tx, tenant) => {
    const issues = flagIssues(input, await store.segmentKeys(tx));
    if (issues.length > 0) throw flagsError('FLAGS_INVALID_FLAG', `flag ${key} is inconsistent`, { inconsistencies: issues });
    const before = await store.findFlag(tx, key, true);
    if (input.expectedVersion !== undefined && input.expectedVersion !== (before?.version ?? 0)) {
      throw flagsError('FLAGS_VERSION_CONFLICT', `flag ${key} is at version ${before?.version ?? 0}`, { expectedVersion: input.expectedVersion, version: before?.version ?? 0 });
    }
    const flag = await store.saveFlag(tx, { key, type: input.type, description: input.description, variants: input.variants, environments: input.environments, killed: before?.killed ?? false, salt: input.salt ?? before?.salt ?? key });
    await recordChange(tx, tenant, { entity: 'flag', key, action: before ? 'updated' : 'created', actor, before: before ?? null, after: flag });
    return { flag, created: !before };
  });
}

/** Kill switch: on, every environment serves its off variant; the rules are kept for when it goes off. */
export async function setKilled(deps: FlagsDeps, actor: string, key: string, killed: boolean, reason?: string): Promise<FlagRecord> {
  return write(deps, 'flag', killed ? 'killed' : 'revived', (tx, tenant) => setKilledIn(tx, tenant, actor, key, killed, reason));
}

async function setKilledIn(tx: Tx, tenant: string, actor: string, key: string, killed: boolean, reason?: string): Promise<FlagRecord> {
  const before = await store.findFlag(tx, key, true);
  if (!before) throw flagsError('FLAGS_FLAG_NOT_FOUND', `no flag ${key}`, { key });
  const flag = await store.saveFlag(tx, { ...before, killed });
  await recordChange(tx, tenant, { entity: 'flag', key, action: killed ? 'killed' : 'revived', actor, before, after: reason === undefined ? flag : { ...flag, reason } });
  return flag;
}

/**
 * Applies a scheduled change (one environment's enabled/rules/fallthrough,
 * or the kill switch) inside the caller's transaction, as `actor`. The
 * caller refreshes the tenant's streams after commit.
 */
export async function applyChangeIn(tx: Tx, tenant: string, actor: string, key: string, change: ScheduledChangeInput): Promise<FlagRecord> {
  if ('killed' in change) return setKilledIn(tx, tenant, actor, key, change.killed, 'scheduled');
  const before = await store.findFlag(tx, key, true);
  if (!before) throw flagsError('FLAGS_FLAG_NOT_FOUND', `no flag ${key}`, { key });
  const current = before.environments[change.environment];
  if (!current) throw flagsError('FLAGS_UNKNOWN_ENVIRONMENT', `flag ${key} has no environment ${change.environment}`, { environment: change.environment });
  const environments = {
    ...before.environments,
    [change.environment]: { ...current, ...(change.enabled !== undefined ? { enabled: change.enabled } : {}), ...(change.rules ? { rules: change.rules } : {}), ...(change.fallthrough ? { fallthrough: change.fallthrough } : {}) },
  };
  const issues = flagIssues({ type: before.type, variants: before.variants, environments }, await store.segmentKeys(tx));
  if (issues.length > 0) throw flagsError('FLAGS_INVALID_FLAG', `the change would make flag ${key} inconsistent`, { inconsistencies: issues });
  const flag = await store.saveFlag(tx, { ...before, environments });
  await recordChange(tx, tenant, { entity: 'flag', key, action: 'scheduled-change-applied', actor, before, after: flag });
  return flag;
}

export async function removeFlag(deps: FlagsDeps, actor: string, key: string): Promise<void> {
  await write(deps, 'flag', 'deleted', async (tx, tenant) => {
    const before = await store.findFlag(tx, key, true);
    if (!before || !(await store.deleteFlag(tx, key))) throw flagsError('FLAGS_FLAG_NOT_FOUND', `no flag ${key}`, { key });
    await recordChange(tx, tenant, { entity: 'flag', key, action: 'deleted', actor, before, after: null });
  });
}

export async function getFlag(deps: FlagsDeps, key: string): Promise<FlagRecord> {
  requireTenant();
  const flag = await store.findFlag(deps.pool, key);
  if (!flag) throw flagsError('FLAGS_FLAG_NOT_FOUND', `no flag ${key}`, { key });
  return flag;
}

export async function listFlags(deps: FlagsDeps): Promise<FlagRecord[]> {
  requireTenant();
  return store.listFlags(deps.pool);
}

export async function putSegment(deps: FlagsDeps, actor: string, key: string, input: SegmentInput): Promise<{ segment: SegmentRecord; created: boolean }> {
  return write(deps, 'segment', 'put', async (tx, tenant) => {
    const before = await store.findSegment(tx, key);
    const segment = await store.saveSegment(tx, key, input);
    await recordChange(tx, tenant, { entity: 'segment', key, action: before ? 'updated' : 'created', actor, before: before ?? null, after: segment });
    return { segment, created: !before };
  });
}

export async function removeSegment(deps: FlagsDeps, actor: string, key: string): Promise<void> {
  await write(deps, 'segment', 'deleted', async (tx, tenant) => {
    const using = await store.flagsUsingSegment(tx, key);
    if (using.length > 0) throw flagsError('FLAGS_SEGMENT_IN_USE', `segment ${key} is named by flags`, { flags: using });
    const before = await store.findSegment(tx, key);
    if (!before || !(await store.deleteSegment(tx, key))) throw flagsError('FLAGS_SEGMENT_NOT_FOUND', `no segment ${key}`, { key });
    await recordChange(tx, tenant, { entity: 'segment', key, action: 'deleted', actor, before, after: null });
  });
}

export async function listSegments(deps: FlagsDeps): Promise<SegmentRecord[]> {
  requireTenant();
  return store.listSegments(deps.pool);
}

export async function auditTrail(deps: FlagsDeps, filter: { entity?: string; key?: string; before?: number; limit: number }): Promise<ChangeRecord[]> {
  requireTenant();
  return store.listChanges(deps.pool, filter);
}
