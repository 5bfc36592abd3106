/**
 * The one way code reads or writes every tenant's rows: relays, projectors,
 * saga recovery, reconcilers, consumers, sweepers. Each entry is counted
 * (`db_system_context_total{pool, reason}`) and logged (info the first time
 * a pool sees a reason, debug afterwards), so an operator can list what runs
 * unscoped and how often. `reason` labels a metric: a fixed name, never data.
 */
import { poolInternals, type DbPool } from './pool.ts';
import { currentDbContext, runAsSystem } from './tenant-context.ts';

const REASON = /^[a-z0-9][a-z0-9_.:-]{0,63}$/;
const announced = new WeakMap<DbPool, Set<string>>();

/** Runs `fn` with access to every tenant's rows on behalf of `reason` (audited). */
export function withSystemContext<T>(pool: DbPool, reason: string, fn: () => Promise<T>): Promise<T> {
  if (!REASON.test(reason)) throw new Error(`system context reason must match ${REASON.source}: ${JSON.stringify(reason)}`);
  const { log, metrics, name } = poolInternals(pool);
  metrics.systemContexts.inc({ pool: name, reason });
  const from = currentDbContext();
  let seen = announced.get(pool);
  if (!seen) announced.set(pool, (seen = new Set()));
  const fields = { pool: name, reason, ...(from?.kind === 'tenant' ? { fromTenant: from.tenant } : {}) };
  if (seen.has(reason)) log.debug(fields, 'system context entered');
  else {
    seen.add(reason);
    log.info(fields, 'system context entered');
  }
  return runAsSystem(reason, fn);
}
