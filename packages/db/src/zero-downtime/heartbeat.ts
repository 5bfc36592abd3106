/**
 * An instance tells the migration runner which schema version its code needs:
 * one row in `zd_instances`, refreshed every `intervalMs`, alive while its
 * last refresh is younger than `ttlMs` on the database's clock. A stopped
 * instance deletes its row; a killed one stops refreshing and expires after
 * the TTL. Contract refuses while a live row names a lower version.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { sqlStateOf } from '../errors.ts';
import { poolInternals, type DbPool } from '../pool.ts';
import { ensureZeroDowntimeTables, schemaOf } from './store.ts';

export interface SchemaHeartbeatOptions {
  pool: DbPool;
  schema?: string;
  /** The app, e.g. 'catalog'. */
  app: string;
  /** The highest zero-downtime change version this release's code needs (0 before any). */
  schemaVersion: number;
  /** Default `<hostname>-<pid>-<random>`. */
  instanceId?: string;
  /** Refresh period; default 5 s. */
  intervalMs?: number;
  /** How long a row stays alive without refresh; default three periods. */
  ttlMs?: number;
}

export interface SchemaHeartbeat {
  readonly instanceId: string;
  /** Stops refreshing and deletes the row (a graceful stop frees contract at once). */
  stop(): Promise<void>;
}

/** Registers the instance (the first write is awaited, so a failure surfaces at start) and keeps refreshing it in the background. */
export async function registerSchemaVersion(options: SchemaHeartbeatOptions): Promise<SchemaHeartbeat> {
  const { pool, app, schemaVersion } = options;
  const instanceId = options.instanceId ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  const intervalMs = options.intervalMs ?? 5_000;
  const ttlMs = options.ttlMs ?? intervalMs * 3;
  const { q } = schemaOf(options);
  const { log, name } = poolInternals(pool);
  const beat = () =>
    pool.query({
      name: 'zdm.heartbeat',
      text: `INSERT INTO ${q('zd_instances')} (instance_id, app, schema_version, ttl_ms) VALUES ($1, $2, $3, $4)
        ON CONFLICT (instance_id) DO UPDATE SET schema_version = EXCLUDED.schema_version, ttl_ms = EXCLUDED.ttl_ms, heartbeat_at = now()`,
      values: [instanceId, app, schemaVersion, ttlMs],
    });
  try {
    await beat();
  } catch (err) {
    if (sqlStateOf(err) !== '42P01') throw err;
    await ensureZeroDowntimeTables(options);
    await beat();
  }
  let running: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    running = beat().catch((err: unknown) => log.warn({ err, pool: name, instanceId }, 'schema version heartbeat failed'));
  }, intervalMs);
  timer.unref();
  let stopped: Promise<void> | undefined;
  return {
    instanceId,
    stop: () =>
      (stopped ??= (async () => {
        clearInterval(timer);
        await running;
        await pool.query({ name: 'zdm.unregister', text: `DELETE FROM ${q('zd_instances')} WHERE instance_id = $1`, values: [instanceId] });
      })()),
  };
}
