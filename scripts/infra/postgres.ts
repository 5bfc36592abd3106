/**
 * PostgreSQL 15 under .local/postgres: wal_level=logical (for CDC), ready to
 * serve streaming replicas, password auth with a generated superuser password
 * kept in .local/postgres/password (0600). The replica is a second instance
 * made by pg_basebackup -R from the primary, started only when asked for.
 * PostgreSQL refuses to run as root, so as root we run it as `postgres`.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ensurePrereqs, PG_BIN } from './prereqs.ts';
import { isOurProcess, readPid, run, tcpProbe, waitFor } from './proc.ts';
import type { LocalServer } from './server.ts';
import { localDir, settings } from './settings.ts';

const asUser = process.getuid?.() === 0 ? 'postgres' : undefined;
const passwordFile = path.join(settings.postgres.dir, 'password');

function ensureDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (asUser) run('chown', ['-R', `${asUser}:${asUser}`, dir]);
}

function password(): string {
  return fs.existsSync(passwordFile) ? fs.readFileSync(passwordFile, 'utf8').trim() : '';
}

function connectionUrl(port: number): string {
  return `postgres://postgres:${encodeURIComponent(password())}@${settings.host}:${port}/postgres`;
}

function pgIsReady(port: number): boolean {
  try {
    run(`${PG_BIN}/pg_isready`, ['-q', '-h', settings.host, '-p', String(port)]);
    return true;
  } catch {
    return false;
  }
}

/**
 * Why a PostgreSQL on `port` refuses this checkout's superuser password
 * (the server's last message line), or undefined when it lets us in.
 */
function refusalOf(port: number): string | undefined {
  try {
    // A minimal environment: the user's PGSSLMODE, PGOPTIONS or PGSERVICE must not decide the answer.
    run(`${PG_BIN}/psql`, ['-w', '-X', '-q', '-h', settings.host, '-p', String(port), '-U', 'postgres', '-d', 'postgres', '-tAc', 'SELECT 1'], {
      env: { PATH: process.env.PATH, PGPASSWORD: password(), PGCONNECT_TIMEOUT: '5' },
    });
    return undefined;
  } catch (err) {
    const lines = (err instanceof Error ? err.message : String(err)).trim().split('\n');
    return lines[lines.length - 1]!.replace(/^psql: (error: )?/, '');
  }
}

/**
 * The port in a postmaster.pid (its fourth line, written by every
 * PostgreSQL at start), or undefined. Needs no /proc access, which a server
 * run as another user may deny.
 */
export function postmasterPort(pidFileText: string): number | undefined {
  const port = Number(pidFileText.split('\n')[3]?.trim());
  return Number.isInteger(port) && port > 0 ? port : undefined;
}

const commonConf = (port: number): string => `
listen_addresses = '${settings.host}'
port = ${port}
unix_socket_directories = ''
max_connections = 300
shared_buffers = 128MB
wal_level = logical
max_wal_senders = 10
max_replication_slots = 10
wal_keep_size = 256MB
hot_standby = on
wal_log_hints = on
max_prepared_transactions = 20
fsync = ${process.env.BULWARK_PG_FSYNC ?? 'on'}
logging_collector = off
log_min_messages = warning
`;

interface InstanceOptions {
  name: string;
  dir: string;
  port: number;
  init: () => void;
  /** Runs before every start of an existing or new data dir. */
  beforeStart?: (dataDir: string) => void;
  /** Runs when `up` finds the instance already running (and healthy). */
  whenRunning?: (dataDir: string) => void;
}

function makeInstance(opts: InstanceOptions): LocalServer {
  const dataDir = path.join(opts.dir, 'data');
  const logFile = path.join(opts.dir, 'postgres.log');
  const pidFile = path.join(dataDir, 'postmaster.pid');
  const pidOf = (): number | undefined => readPid(pidFile);
  /** The port our server of this data dir was started on, if it runs. */
  const ourPort = (): number | undefined => {
    if (!isOurProcess(pidOf(), dataDir)) return undefined;
    try {
      return postmasterPort(fs.readFileSync(pidFile, 'utf8'));
    } catch {
      return undefined;
    }
  };
  const server: LocalServer = {
    name: opts.name,
    get url() {
      return connectionUrl(opts.port);
    },
    logFile,
    clientEnv: () => ({ [opts.name === 'postgres' ? 'BULWARK_PG_URL' : 'BULWARK_PG_REPLICA_URL']: connectionUrl(opts.port) }),
    async status() {
      const healthy = pgIsReady(opts.port);
      // Ours: the server of this checkout's data dir, started on this port.
      return { healthy, ours: ourPort() === opts.port };
    },
    async up() {
      ensurePrereqs(['postgres']);
      const healthy = pgIsReady(opts.port);
      const running = ourPort();
      if (healthy && running === opts.port) {
        opts.whenRunning?.(dataDir);
        return;
      }
      if (healthy) {
        // Someone else's server on our port. Reused only if it takes this
        // checkout's password (one we cannot see as ours, e.g. started by
        // another user); another checkout's would fail every connection later.
        if (!password()) throw new Error(`a PostgreSQL we did not start answers on port ${opts.port}: set BULWARK_PG_URL to use it, or BULWARK_PG_PORT to move ours`);
        const refusal = refusalOf(opts.port);
        if (refusal !== undefined) {
          throw new Error(
            `a PostgreSQL we did not start answers on port ${opts.port} and refuses this checkout's password (${passwordFile}): ${refusal}. ` +
              `Another checkout's? Stop it, or set BULWARK_PG_PORT to move ours`,
          );
        }
        return;
      }
      if (running !== undefined && running !== opts.port) run(`${PG_BIN}/pg_ctl`, ['-D', dataDir, '-m', 'fast', '-w', 'stop'], { user: asUser }); // ours, on an old port
      if (await tcpProbe(settings.host, opts.port)) throw new Error(`port ${opts.port} is taken by something that is not PostgreSQL; set BULWARK_PG_PORT`);
      if (!fs.existsSync(path.join(dataDir, 'PG_VERSION'))) opts.init();
      ensureDir(opts.dir);
      opts.beforeStart?.(dataDir);
      // The port on the command line wins over the one initdb wrote, so a moved port (variable or default) holds for an existing data dir.
      run(`${PG_BIN}/pg_ctl`, ['-D', dataDir, '-l', logFile, '-o', `-p ${opts.port}`, '-w', '-t', '60', 'start'], { user: asUser });
      await waitFor(`${opts.name} on :${opts.port}`, async () => pgIsReady(opts.port), 30_000, logFile);
    },
    async down() {
      if (!isOurProcess(pidOf(), dataDir)) return;
      run(`${PG_BIN}/pg_ctl`, ['-D', dataDir, '-m', 'fast', '-w', 'stop'], { user: asUser });
    },
  };
  return server;
}

export const postgres: LocalServer = makeInstance({
  name: 'postgres',
  dir: settings.postgres.dir,
  port: settings.postgres.port,
  init() {
    const dataDir = path.join(settings.postgres.dir, 'data');
    fs.mkdirSync(localDir, { recursive: true });
    ensureDir(settings.postgres.dir);
    if (!password()) fs.writeFileSync(passwordFile, crypto.randomBytes(18).toString('base64url'), { mode: 0o600 });
    const pwFile = path.join(settings.postgres.dir, 'initdb-pw');
    fs.writeFileSync(pwFile, password(), { mode: 0o600 });
    if (asUser) run('chown', [`${asUser}:${asUser}`, pwFile]);
    try {
      run(`${PG_BIN}/initdb`, ['-D', dataDir, '-U', 'postgres', '--auth=scram-sha-256', `--pwfile=${pwFile}`, '-E', 'UTF8', '--locale=C.UTF-8'], { user: asUser });
    } finally {
      fs.rmSync(pwFile, { force: true });
    }
    fs.appendFileSync(path.join(dataDir, 'postgresql.conf'), commonConf(settings.postgres.port));
    fs.appendFileSync(path.join(dataDir, 'pg_hba.conf'), `host replication all ${settings.host}/32 scram-sha-256\n`);
  },
});

/** A streaming replica of `postgres`, for failover work. Not started by default. */
export const postgresReplica: LocalServer = makeInstance({
  name: 'postgres-replica',
  dir: settings.postgresReplica.dir,
  port: settings.postgresReplica.port,
  init: cloneReplica,
  beforeStart(dataDir) {
    if (replicaFellBehind(dataDir)) {
      // The primary recycled the WAL this replica needs next: it would retry forever. Clone it again.
      fs.rmSync(dataDir, { recursive: true, force: true });
      cloneReplica();
    }
    followPrimary(dataDir);
  },
  whenRunning(dataDir) {
    if (replicaFellBehind(dataDir)) {
      run(`${PG_BIN}/pg_ctl`, ['-D', dataDir, '-m', 'fast', '-w', 'stop'], { user: asUser });
      fs.rmSync(dataDir, { recursive: true, force: true });
      cloneReplica();
      run(`${PG_BIN}/pg_ctl`, ['-D', dataDir, '-l', path.join(settings.postgresReplica.dir, 'postgres.log'), '-o', `-p ${settings.postgresReplica.port}`, '-w', '-t', '60', 'start'], { user: asUser });
      return;
    }
    // primary_conninfo is reloadable (PostgreSQL ≥ 13): the WAL receiver reconnects to the new port.
    if (followPrimary(dataDir)) run(`${PG_BIN}/pg_ctl`, ['-D', dataDir, 'reload'], { user: asUser });
  },
});

function cloneReplica(): void {
  if (!pgIsReady(settings.postgres.port)) throw new Error('the replica needs the primary: npm run infra -- up postgres');
  const dataDir = path.join(settings.postgresReplica.dir, 'data');
  ensureDir(settings.postgresReplica.dir);
  run(`${PG_BIN}/pg_basebackup`, ['-h', settings.host, '-p', String(settings.postgres.port), '-U', 'postgres', '-D', dataDir, '-R', '-X', 'stream', '-c', 'fast'], {
    user: asUser,
    env: { ...process.env, PGPASSWORD: password() },
  });
  fs.appendFileSync(path.join(dataDir, 'postgresql.conf'), `port = ${settings.postgresReplica.port}\n`);
}

/**
 * True when the primary no longer holds the WAL segment after the newest one
 * the replica has (a replica stopped, or stuck, for longer than wal_keep_size
 * covers): streaming cannot resume and only a new base backup helps.
 */
function replicaFellBehind(dataDir: string): boolean {
  const walDir = path.join(dataDir, 'pg_wal');
  if (!fs.existsSync(walDir) || !pgIsReady(settings.postgres.port)) return false;
  const local = fs.readdirSync(walDir).filter((n) => /^[0-9A-F]{24}$/.test(n));
  let oldest: string;
  try {
    oldest = run(`${PG_BIN}/psql`, ['-w', '-X', '-q', '-h', settings.host, '-p', String(settings.postgres.port), '-U', 'postgres', '-d', 'postgres', '-tAc', "SELECT min(name) FROM pg_ls_waldir() WHERE name ~ '^[0-9A-F]{24}$'"], {
      env: { PATH: process.env.PATH, PGPASSWORD: password(), PGCONNECT_TIMEOUT: '5' },
    }).trim();
  } catch {
    return false;
  }
  return walBehind(local, oldest);
}

/** Whether the newest of a replica's local segments is older than the primary's oldest kept segment (timelines ignored). */
export function walBehind(replicaSegments: string[], primaryOldest: string): boolean {
  if (replicaSegments.length === 0 || primaryOldest === '') return false;
  const position = (name: string): string => name.slice(8);
  const newest = replicaSegments.map(position).sort().at(-1)!;
  return newest < position(primaryOldest);
}

/** pg_basebackup -R wrote the primary's port into primary_conninfo: points it at the primary's current port; true if it changed. */
function followPrimary(dataDir: string): boolean {
  const autoConf = path.join(dataDir, 'postgresql.auto.conf');
  if (!fs.existsSync(autoConf)) return false;
  const text = fs.readFileSync(autoConf, 'utf8');
  const moved = followPrimaryPort(text, settings.postgres.port);
  if (moved === text) return false;
  fs.writeFileSync(autoConf, moved);
  return true;
}

/** postgresql.auto.conf with primary_conninfo's last `port=` (the one libpq uses) set to `port`; other lines untouched. */
export function followPrimaryPort(autoConf: string, port: number): string {
  return autoConf.replace(/^(primary_conninfo\s*=\s*'[^\n]*\bport=)\d+/m, `$1${port}`);
}
