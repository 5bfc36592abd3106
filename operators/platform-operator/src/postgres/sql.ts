/**
 * The SQL the operator runs against an instance: a probe bounded by a hard
 * timeout (a black-holed address must not hang a reconcile), promotion, and
 * the reloadable settings it manages (synchronous_standby_names,
 * primary_conninfo). Values that go into ALTER SYSTEM are quoted as literals;
 * everything else is parameterised.
 */
import pg from 'pg';
import type { InstanceProbe } from '../reconcilers/postgrescluster-policy.ts';
import { parseLsn } from './lsn.ts';

export interface Endpoint {
  host: string;
  port: number;
  user: string;
  password: string;
  database?: string;
}

export class SqlTimeoutError extends Error {
  constructor(ms: number) {
    super(`no answer within ${ms} ms`);
    this.name = 'SqlTimeoutError';
  }
}

/** Runs `fn` on a fresh connection; the whole thing (connect + queries) is bounded by `timeoutMs`. */
export async function withClient<T>(ep: Endpoint, timeoutMs: number, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({
    host: ep.host,
    port: ep.port,
    user: ep.user,
    password: ep.password,
    database: ep.database ?? 'postgres',
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs,
    application_name: 'bulwark-operator',
  });
  client.on('error', () => undefined);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new SqlTimeoutError(timeoutMs)), timeoutMs);
  });
  try {
    return await Promise.race([
      (async () => {
        await client.connect();
        return fn(client);
      })(),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
    void client.end().catch(() => undefined);
  }
}

interface ProbeRow {
  rec: boolean;
  cur: string | null;
  recv: string | null;
  replay: string | null;
  tli: string | null;
  sync_names: string;
}

/** One probe: role, WAL positions, timeline and (on a primary) who streams and how. */
export async function probeInstance(name: string, ep: Endpoint, timeoutMs: number): Promise<InstanceProbe> {
  try {
    return await withClient(ep, timeoutMs, async (client) => {
      const { rows } = await client.query<ProbeRow>(`
        select pg_is_in_recovery() as rec,
               case when pg_is_in_recovery() then null else pg_current_wal_lsn()::text end as cur,
               pg_last_wal_receive_lsn()::text as recv,
               pg_last_wal_replay_lsn()::text as replay,
               case when pg_is_in_recovery() then (select received_tli::text from pg_stat_wal_receiver)
                    else ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)) end as tli,
               current_setting('synchronous_standby_names') as sync_names`);
      const row = rows[0];
      if (!row) throw new Error('probe returned no row');
      const probe: InstanceProbe = { name, reachable: true, inRecovery: row.rec };
      if (row.cur) probe.currentLsn = parseLsn(row.cur);
      if (row.recv) probe.receiveLsn = parseLsn(row.recv);
      if (row.replay) probe.replayLsn = parseLsn(row.replay);
      if (row.tli) probe.timeline = row.tli.startsWith('x') ? Number.parseInt(row.tli.slice(1), 16) : Number(row.tli);
      if (!row.rec) {
        const repl = await client.query<{ application_name: string; sync_state: string }>(
          `select application_name, sync_state from pg_stat_replication where state = 'streaming' order by application_name`,
        );
        probe.replicas = repl.rows.map((r) => ({ name: r.application_name, syncState: r.sync_state }));
        probe.syncNames = row.sync_names;
      }
      return probe;
    });
  } catch (error) {
    return { name, reachable: false, error: error instanceof Error ? error.message : String(error) };
  }
}

/** Quotes a value as an SQL string literal (for ALTER SYSTEM, which takes no parameters). */
export function literal(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** pg_promote, waiting for the end of recovery; true when the instance is writable afterwards. */
export async function promote(ep: Endpoint, timeoutMs: number): Promise<boolean> {
  return withClient(ep, timeoutMs + 1000, async (client) => {
    const seconds = Math.max(1, Math.ceil(timeoutMs / 1000));
    const { rows } = await client.query<{ promoted: boolean }>('select pg_promote(true, $1) as promoted', [seconds]);
    const after = await client.query<{ rec: boolean }>('select pg_is_in_recovery() as rec');
    return rows[0]?.promoted === true && after.rows[0]?.rec === false;
  });
}

/** ALTER SYSTEM SET + reload, for a reloadable setting. */
export async function setSystem(ep: Endpoint, timeoutMs: number, setting: 'synchronous_standby_names' | 'primary_conninfo', value: string): Promise<void> {
  await withClient(ep, timeoutMs, async (client) => {
    await client.query(`alter system set ${setting} = ${literal(value)}`);
    await client.query('select pg_reload_conf()');
  });
}

/** A libpq conninfo string for streaming from `primary` under `applicationName`. */
export function conninfo(primary: Endpoint, applicationName: string): string {
  const q = (v: string): string => `'${v.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
  return `host=${q(primary.host)} port=${primary.port} user=${q(primary.user)} password=${q(primary.password)} application_name=${q(applicationName)}`;
}
