/**
 * PostgreSQL instances as local processes under a temp dir, and the
 * InstanceDriver over them. Used by the integration tests and the failover
 * bench: initdb (SCRAM, like scripts/infra/postgres.ts), pg_basebackup for
 * replicas, pg_ctl start/stop, SIGKILL, pg_rewind. PostgreSQL refuses to run
 * as root, so as root every binary runs as the `postgres` user.
 *
 * Instance-specific settings (listen address, port) go on the pg_ctl command
 * line, never into postgresql.conf: pg_rewind copies the config files from
 * its source, so they must be the same on every instance.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { ClusterRef, InstanceDriver, InstanceInfo } from '../../src/postgres/driver.ts';
import { conninfo, type Endpoint, withClient } from '../../src/postgres/sql.ts';
import { hbaRules } from '../../src/reconcilers/postgrescluster-manifests.ts';

const exec = promisify(execFile);
/** Where the PostgreSQL 15 binaries are (the same path as scripts/infra/prereqs.ts). */
export const PG_BIN = '/usr/lib/postgresql/15/bin';
const asUser = process.getuid?.() === 0 ? 'postgres' : undefined;

async function runPg(binary: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  const cmd = `${PG_BIN}/${binary}`;
  const [file, argv] = asUser ? ['runuser', ['-u', asUser, '--', cmd, ...args]] : [cmd, args];
  try {
    // The child needs the inherited environment (PATH, locale) plus PGPASSWORD; nothing is read from it here.
    const { stdout, stderr } = await exec(file, argv, { env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024 });
    return `${stdout}${stderr}`;
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${binary} ${args[0] ?? ''} failed: ${(e.stderr || e.stdout || e.message).trim().slice(-2000)}`, { cause: error });
  }
}

function chown(target: string): void {
  if (!asUser) return;
  // uid/gid of the postgres user, read once from /etc/passwd (no getpwnam in Node).
  const entry = fs
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${asUser}:`));
  const [, , uid, gid] = entry?.split(':') ?? [];
  if (!uid || !gid) throw new Error(`user ${asUser} not found`);
  fs.chownSync(target, Number(uid), Number(gid));
}

const COMMON_CONF = `
# written by @bulwark/platform-operator test/postgres/local-driver.ts (identical on every instance)
unix_socket_directories = ''
max_connections = 40
shared_buffers = 16MB
wal_level = replica
max_wal_senders = 10
max_replication_slots = 10
wal_keep_size = 256MB
hot_standby = on
wal_log_hints = on
wal_receiver_status_interval = 1s
wal_retrieve_retry_interval = 500ms
fsync = on
logging_collector = off
log_min_messages = warning
`;

export class LocalInstance {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly dir: string;
  readonly dataDir: string;
  readonly logFile: string;
  readonly user = 'postgres';
  readonly password: string;

  constructor(options: { name: string; host: string; port: number; baseDir: string; password: string }) {
    this.name = options.name;
    this.host = options.host;
    this.port = options.port;
    this.password = options.password;
    this.dir = path.join(options.baseDir, options.name);
    this.dataDir = path.join(this.dir, 'data');
    this.logFile = path.join(this.dir, 'postgres.log');
  }

  get endpoint(): Endpoint {
    return { host: this.host, port: this.port, user: this.user, password: this.password };
  }

  #mkdir(): void {
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    chown(this.dir);
  }

  /** initdb a new primary with SCRAM auth and the operator's own pg_hba rules (the testbed's 10.213.x.y addresses are in its replication networks). */
  async initPrimary(): Promise<void> {
    this.#mkdir();
    const pwFile = path.join(this.dir, 'initdb-pw');
    fs.writeFileSync(pwFile, this.password, { mode: 0o600 });
    chown(pwFile);
    try {
      await runPg('initdb', ['-D', this.dataDir, '-U', this.user, '--auth=scram-sha-256', `--pwfile=${pwFile}`, '-E', 'UTF8', '--locale=C.UTF-8']);
    } finally {
      fs.rmSync(pwFile, { force: true });
    }
    fs.appendFileSync(path.join(this.dataDir, 'postgresql.conf'), COMMON_CONF);
    fs.appendFileSync(path.join(this.dataDir, 'pg_hba.conf'), hbaRules());
  }

  /** pg_basebackup from `primary` and configure streaming from it (standby.signal + primary_conninfo). */
  async initReplica(primary: Endpoint): Promise<void> {
    this.#mkdir();
    await runPg('pg_basebackup', ['-h', primary.host, '-p', String(primary.port), '-U', primary.user, '-D', this.dataDir, '-X', 'stream', '-c', 'fast'], {
      PGPASSWORD: primary.password,
    });
    this.writeStandbyConfig(primary);
  }

  /** standby.signal + primary_conninfo (appended: the last setting in postgresql.auto.conf wins). */
  writeStandbyConfig(primary: Endpoint | undefined): void {
    const signal = path.join(this.dataDir, 'standby.signal');
    fs.writeFileSync(signal, '');
    chown(signal);
    if (primary) fs.appendFileSync(path.join(this.dataDir, 'postgresql.auto.conf'), `primary_conninfo = '${conninfo(primary, this.name).replaceAll("'", "''")}'\n`);
  }

  async start(): Promise<void> {
    // Right after a SIGKILL the kernel may still hold the dead postmaster's socket or shared memory for a moment
    // (seen once in CI on a loaded box: "could not start server"); try again briefly, then fail with the server log.
    for (let attempt = 1; ; attempt += 1) {
      try {
        await runPg('pg_ctl', ['-D', this.dataDir, '-l', this.logFile, '-w', '-t', '60', '-o', `-c listen_addresses=${this.host} -c port=${this.port}`, 'start']);
        return;
      } catch (err) {
        // The operator may act on the same instance meanwhile: a rejoin stops the server this call was
        // waiting for and starts it again itself. A postmaster running on this data directory is what
        // start() promises, whoever started it (retrying would only fail on its lock file).
        if (this.alive()) return;
        if (attempt >= 3) {
          const tail = fs.existsSync(this.logFile) ? fs.readFileSync(this.logFile, 'utf8').split('\n').slice(-15).join('\n') : '(no log)';
          throw new Error(`${this.name} did not start after ${attempt} attempts; log tail:\n${tail}`, { cause: err });
        }
        await new Promise((r) => setTimeout(r, 1000 * attempt));
      }
    }
  }

  /** Clean stop (fast: disconnects clients, ships remaining WAL to connected standbys). */
  async stop(timeoutSeconds = 20): Promise<void> {
    if (!this.alive()) return;
    await runPg('pg_ctl', ['-D', this.dataDir, '-m', 'fast', '-w', '-t', String(timeoutSeconds), 'stop']);
  }

  /** The postmaster pid from postmaster.pid, if that process runs. */
  pid(): number | undefined {
    try {
      const pid = Number(fs.readFileSync(path.join(this.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
      if (!Number.isInteger(pid) || pid <= 0) return undefined;
      process.kill(pid, 0);
      return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(this.dataDir) ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  alive(): boolean {
    return this.pid() !== undefined;
  }

  /** SIGKILL the postmaster (a crash: no shutdown checkpoint, no WAL flush to standbys). */
  kill(signal: NodeJS.Signals = 'SIGKILL'): number | undefined {
    const pid = this.pid();
    if (pid !== undefined) process.kill(pid, signal);
    return pid;
  }

  /** Waits until the postmaster and its backends are gone. */
  async waitGone(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.alive() && !(await this.#backendsAlive())) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`${this.name} still running after ${timeoutMs} ms`);
  }

  async #backendsAlive(): Promise<boolean> {
    // Orphaned backends of a killed postmaster keep the data dir in their command line only via cwd; check /proc for cwd.
    for (const entry of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        if (fs.readlinkSync(`/proc/${entry}/cwd`) === this.dataDir) return true;
      } catch {
        // gone or not ours
      }
    }
    return false;
  }

  /** Throws the data directory away and clones it again from `primary` (pg_basebackup). */
  async reclone(primary: Endpoint): Promise<void> {
    fs.rmSync(this.dataDir, { recursive: true, force: true });
    await this.initReplica(primary);
  }

  /** pg_rewind onto `source` (runs crash recovery first when needed), then configure as its standby. */
  async rewind(source: Endpoint): Promise<string> {
    // pg_rewind reads the source's timeline from its control file, which a
    // freshly promoted primary updates only at its next checkpoint.
    await withClient(source, 60_000, (client) => client.query('checkpoint'));
    // Single-user crash recovery (which pg_rewind runs after a crash) refuses standby mode.
    fs.rmSync(path.join(this.dataDir, 'standby.signal'), { force: true });
    const src = `host=${source.host} port=${source.port} user=${source.user} dbname=postgres`;
    const out = await runPg('pg_rewind', ['--target-pgdata', this.dataDir, '--source-server', src], { PGPASSWORD: source.password });
    this.writeStandbyConfig(source);
    return out;
  }
}

/**
 * The InstanceDriver over LocalInstances of one cluster. Fencing and rejoin
 * act through the host (pg_ctl, pid, data dir) like kubelet acts on a Pod, so
 * they work while the instance's SQL port is unreachable from the operator.
 * `sqlAddress` lets a test route the operator's probes elsewhere (through a
 * proxy it can cut) while clients use the instance address.
 */
export class LocalDriver implements InstanceDriver {
  readonly #instances: LocalInstance[];
  readonly #sqlAddress: (instance: LocalInstance) => { host: string; port: number };
  readonly #hostView: boolean;

  /**
   * `hostView: false` hides process liveness from the reconciler (alive is
   * reported unknown), as when a node is lost and nobody can say whether the
   * Pod runs: detection then rests on the SQL probes alone.
   */
  constructor(instances: LocalInstance[], options: { sqlAddress?: (instance: LocalInstance) => { host: string; port: number }; hostView?: boolean } = {}) {
    this.#instances = instances;
    this.#sqlAddress = options.sqlAddress ?? ((i) => ({ host: i.host, port: i.port }));
    this.#hostView = options.hostView ?? true;
  }

  #get(name: string): LocalInstance {
    const instance = this.#instances.find((i) => i.name === name);
    if (!instance) throw new Error(`unknown instance ${name}`);
    return instance;
  }

  async instances(_cluster: ClusterRef): Promise<InstanceInfo[]> {
    return this.#instances.map((i) => ({ name: i.name, host: i.host, port: i.port, ...(this.#hostView ? { alive: i.alive() } : {}) }));
  }

  async credentials(): Promise<{ user: string; password: string }> {
    const first = this.#instances[0];
    if (!first) throw new Error('no instances');
    return { user: first.user, password: first.password };
  }

  sqlEndpoint(instance: InstanceInfo, credentials: { user: string; password: string }): Endpoint {
    return { ...this.#sqlAddress(this.#get(instance.name)), ...credentials };
  }

  async fence(_cluster: ClusterRef, info: InstanceInfo): Promise<void> {
    const instance = this.#get(info.name);
    if (instance.alive()) {
      try {
        await instance.stop(10);
      } catch {
        instance.kill('SIGKILL');
      }
    }
    await instance.waitGone();
    // If anyone starts it again it comes up read-only, in recovery, until rejoin rewinds it.
    instance.writeStandbyConfig(undefined);
  }

  async rejoin(_cluster: ClusterRef, info: InstanceInfo, primary: Endpoint): Promise<void> {
    const instance = this.#get(info.name);
    if (instance.alive()) await instance.stop();
    await instance.waitGone();
    try {
      await instance.rewind(primary);
    } catch {
      // pg_rewind cannot handle every history (e.g. the fork point exactly at the end of the
      // target's WAL: "could not find previous WAL record"); a fresh clone always works.
      await instance.reclone(primary);
    }
    await instance.start();
  }
}
