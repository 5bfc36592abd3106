/**
 * The secret use cases. Each runs in one transaction of the request's
 * tenant; reads and changes write their audit event to the outbox in that
 * same transaction, so a value is only returned once its read is recorded.
 */
import { withTransaction } from '@bulwark/db';
import { recordSecretsEvent } from '../events/secrets-events.ts';
import { secretsError } from '../errors.ts';
import { disableVersion, findVersion, insertVersion, listPolicies, listVersions, nextVersion, policyPatterns, putPolicy, type VersionRow } from '../store/secret-store.ts';
import { requestTenant, type Actor, type SecretsContext } from './context.ts';
import { openValue, sealValue } from './envelope.ts';
import { mayRead } from './policy.ts';

export interface VersionInfo {
  name: string;
  version: number;
  createdAt: Date;
  createdBy: string;
  disabledAt: Date | null;
  kekVersion: number;
}

const infoOf = (r: VersionRow): VersionInfo => ({ name: r.name, version: r.version, createdAt: r.createdAt, createdBy: r.createdBy, disabledAt: r.disabledAt, kekVersion: r.kekVersion });

/** Stores `value` as the next version of `name` (the first creates the secret). */
export async function writeSecret(ctx: SecretsContext, actor: Actor, name: string, value: string): Promise<VersionInfo> {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length > ctx.maxValueBytes) throw secretsError('SECRETS_VALUE_TOO_LARGE', `the value has ${bytes.length} bytes, at most ${ctx.maxValueBytes} are kept`, { maxBytes: ctx.maxValueBytes });
  const tenant = requestTenant();
  return withTransaction(ctx.pool, async (tx) => {
    const version = await nextVersion(tx, name);
    const sealed = sealValue(ctx.ring, { tenant, name, version }, bytes);
    bytes.fill(0);
    const createdAt = await insertVersion(tx, { name, version, ...sealed, createdBy: actor.sub });
    await recordSecretsEvent(tx, 'secret-written', `${tenant}/${name}`, { tenant, actorSub: actor.sub, actorKind: actor.kind, name, version });
    return { name, version, createdAt, createdBy: actor.sub, disabledAt: null, kekVersion: sealed.kekVersion };
  });
}

/**
 * A version's value (latest when `version` is undefined) for an admin, or
 * for a service its tenant's policy allows; 404 before 403 would tell a
 * caller which names exist, so the policy is checked first.
 */
export async function readSecret(ctx: SecretsContext, actor: Actor, name: string, version: number | undefined): Promise<VersionInfo & { value: string }> {
  const tenant = requestTenant();
  return withTransaction(ctx.pool, async (tx) => {
    if (actor.kind === 'service' && !mayRead(await policyPatterns(tx, actor.sub), name)) {
      throw secretsError('SECRETS_ACCESS_DENIED', `client ${actor.sub} may not read ${name} in this tenant`, { clientId: actor.sub });
    }
    const row = await findVersion(tx, name, version);
    if (!row) throw secretsError('SECRETS_NOT_FOUND', version === undefined ? `no secret ${name}` : `no version ${version} of ${name}`);
    if (row.disabledAt) throw secretsError('SECRETS_VERSION_DISABLED', `version ${row.version} of ${name} is disabled`, { version: row.version });
    const value = openValue(ctx.ring, { tenant, name, version: row.version }, row).toString('utf8');
    await recordSecretsEvent(tx, 'secret-read', `${tenant}/${name}`, { tenant, actorSub: actor.sub, actorKind: actor.kind, name, version: row.version });
    return { ...infoOf(row), value };
  });
}

export async function listSecretVersions(ctx: SecretsContext, name: string): Promise<VersionInfo[]> {
  const rows = await listVersions(ctx.pool, name);
  if (rows.length === 0) throw secretsError('SECRETS_NOT_FOUND', `no secret ${name}`);
  return rows.map(infoOf);
}

/** Disables one version for good: it is never served again (410). */
export async function disableSecretVersion(ctx: SecretsContext, actor: Actor, name: string, version: number): Promise<VersionInfo> {
  const tenant = requestTenant();
  return withTransaction(ctx.pool, async (tx) => {
    if (!(await disableVersion(tx, name, version, actor.sub))) throw secretsError('SECRETS_NOT_FOUND', `no version ${version} of ${name}`);
    await recordSecretsEvent(tx, 'secret-version-disabled', `${tenant}/${name}`, { tenant, actorSub: actor.sub, actorKind: actor.kind, name, version });
    return infoOf((await findVersion(tx, name, version))!);
  });
}

/** Replaces what `clientId` may read in this tenant ([] takes everything away). */
export async function setAccessPolicy(ctx: SecretsContext, actor: Actor, clientId: string, patterns: readonly string[]): Promise<void> {
  const tenant = requestTenant();
  await withTransaction(ctx.pool, async (tx) => {
    await putPolicy(tx, clientId, [...new Set(patterns)], actor.sub);
    await recordSecretsEvent(tx, 'access-policy-changed', `${tenant}/policy/${clientId}`, { tenant, actorSub: actor.sub, actorKind: actor.kind, clientId, patterns: [...new Set(patterns)] });
  });
}

export const listAccessPolicies = (ctx: SecretsContext) => listPolicies(ctx.pool);
