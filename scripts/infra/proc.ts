/**
 * Small process and network helpers for the infrastructure scripts: pid files,
 * liveness of a pid, TCP probes and bounded polling. Nothing here retries
 * forever; every wait has a deadline and names what it waited for.
 */
import { spawn, spawnSync, type SpawnOptions } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';

export function readPid(file: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(file, 'utf8').split('\n')[0]?.trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** True when the pid runs and its command line contains `expect` (guards against pid reuse). */
export function isOurProcess(pid: number | undefined, expect: string): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(expect);
  } catch {
    return true;
  }
}

/** TCP ports `pid` listens on (its socket fds matched against its network namespace's tcp tables); empty when that cannot be read (e.g. another user's process). */
export function listeningPorts(pid: number): number[] {
  const inodes = new Set<string>();
  try {
    for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) inodes.add(m[1]!);
      } catch {
        // closed meanwhile
      }
    }
  } catch {
    return [];
  }
  const ports = new Set<number>();
  for (const table of [`/proc/${pid}/net/tcp`, `/proc/${pid}/net/tcp6`]) {
    let text: string;
    try {
      text = fs.readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      const f = line.trim().split(/\s+/);
      if (f[3] === '0A' && inodes.has(f[9]!)) ports.add(parseInt(f[1]!.split(':')[1]!, 16));
    }
  }
  return [...ports];
}

/**
 * True when `pid` listens, but on none of `ports`: for a server of ours, one
 * started before its ports moved (a BULWARK_*_PORT variable, or new
 * defaults). Still starting (listening on nothing yet, or on one of `ports`,
 * like a Kafka whose controller listener is up before its broker's) is not
 * that.
 */
export function listensOnlyElsewhere(pid: number, ports: readonly number[]): boolean {
  const listening = listeningPorts(pid);
  return listening.length > 0 && !listening.some((p) => ports.includes(p));
}

/**
 * True when `pid` is ours (its command line contains `expect`: pass something
 * unique to this checkout, such as a config file's path, because a match ends
 * in a SIGTERM) and listens only elsewhere than `ports`. `up` stops such a
 * server before starting one on the new port; otherwise the two would share a
 * data directory and a pid file.
 */
export function runsOnAnotherPort(pid: number | undefined, expect: string, ports: readonly number[]): boolean {
  return isOurProcess(pid, expect) && listensOnlyElsewhere(pid!, ports);
}

/** Stops the server in `pidFile` (SIGTERM, then SIGKILL after `timeoutMs`) and removes the file when runsOnAnotherPort says it is ours on another port. */
export async function stopIfOnAnotherPort(pidFile: string, expect: string, ports: readonly number[], timeoutMs = 15_000): Promise<void> {
  const pid = readPid(pidFile);
  if (!runsOnAnotherPort(pid, expect, ports)) return;
  await stopPid(pid!, timeoutMs);
  fs.rmSync(pidFile, { force: true });
}

export function tcpProbe(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Sends one inline command to a RESP server and returns the first reply line. */
export function redisCommand(host: string, port: number, command: string, timeoutMs = 1000): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    let data = '';
    const done = (value: string | undefined): void => {
      socket.destroy();
      resolve(value);
    };
    socket.setTimeout(timeoutMs, () => done(undefined));
    socket.once('connect', () => socket.write(`${command}\r\n`));
    socket.on('data', (chunk) => {
      data += chunk.toString('utf8');
      if (data.includes('\r\n')) done(data.split('\r\n')[0]);
    });
    socket.once('error', () => done(undefined));
    // A server may close without a reply (as Redis does on SHUTDOWN); without this the promise never
    // settles and, with nothing else pending, node exits 0 in the middle of the caller.
    socket.once('close', () => done(data.includes('\r\n') ? data.split('\r\n')[0] : undefined));
  });
}

export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number, logFile?: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  const tail = logFile && fs.existsSync(logFile) ? `\n--- last lines of ${logFile} ---\n${fs.readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n')}` : '';
  throw new Error(`${what} did not become ready within ${timeoutMs} ms${tail}`);
}

/** Runs a command to completion; throws with its output on a non-zero exit. */
export function run(cmd: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; user?: string } = {}): string {
  const [file, argv] = options.user && process.getuid?.() === 0 ? ['runuser', ['-u', options.user, '--', cmd, ...args]] : [cmd, args];
  const result = spawnSync(file, argv, { cwd: options.cwd, env: options.env ?? process.env, encoding: 'utf8' });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${result.status}:\n${result.stdout}${result.stderr}`);
  return result.stdout;
}

/** Starts a long-running process detached from us, output to logFile, pid to pidFile. */
export function startDetached(cmd: string, args: string[], logFile: string, pidFile: string, options: SpawnOptions = {}): number {
  const out = fs.openSync(logFile, 'a');
  const child = spawn(cmd, args, { ...options, detached: true, stdio: ['ignore', out, out] });
  fs.closeSync(out);
  if (child.pid === undefined) throw new Error(`could not start ${cmd}`);
  child.unref();
  fs.writeFileSync(pidFile, `${child.pid}\n`);
  return child.pid;
}

/** SIGTERM, wait up to timeoutMs, then SIGKILL. */
export async function stopPid(pid: number, timeoutMs = 15_000): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
}

/** Stop, find and signal a server that startDetached started: down, pid and kill of its LocalServer. */
export interface PidFileControl {
  /** Whether the pid file names a live process whose command line carries the expected string. */
  ours(): boolean;
  /** SIGTERM, then SIGKILL after the timeout; removes the pid file. Does nothing when the process is not ours. */
  down(): Promise<void>;
  pid(): number | undefined;
  /** Sends `signal` and waits until the process is gone (fault tests). */
  kill(signal: 'SIGTERM' | 'SIGKILL', timeoutMs?: number): Promise<void>;
}

/**
 * The control of the server whose pid is in `pidFile` and whose command line
 * carries `expect` (its data directory, config file or main class): a stale
 * pid file, or a pid reused by another process, is never signalled.
 */
export function pidFileControl(name: string, pidFile: string, expect: string, timeoutMs = 15_000): PidFileControl {
  const ours = (): boolean => isOurProcess(readPid(pidFile), expect);
  return {
    ours,
    async down() {
      if (!ours()) return;
      await stopPid(readPid(pidFile)!, timeoutMs);
      fs.rmSync(pidFile, { force: true });
    },
    pid() {
      return ours() ? readPid(pidFile) : undefined;
    },
    async kill(signal, killTimeoutMs = timeoutMs) {
      const pid = readPid(pidFile);
      if (!isOurProcess(pid, expect)) return;
      process.kill(pid!, signal);
      const deadline = Date.now() + killTimeoutMs;
      while (isOurProcess(pid, expect)) {
        if (Date.now() > deadline) throw new Error(`${name} (pid ${pid}) still running ${killTimeoutMs} ms after ${signal}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      fs.rmSync(pidFile, { force: true });
    },
  };
}

/** Prints the last lines of each log file, for the `logs` commands of the CLIs. */
export function printLogTails(logs: { logFile: string }[], lines = 40): void {
  for (const { logFile } of logs) {
    console.log(`==> ${logFile} <==`);
    console.log(fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').split('\n').slice(-lines).join('\n') : '(no log yet)');
  }
}
