/**
 * ClamAV's scanning daemon (Debian's clamav-daemon) under .local/clamd,
 * listening on loopback TCP for the INSTREAM protocol. The internet signature
 * database is out of reach, so clamd loads a local one written here: the EICAR
 * test file as a body signature (.ndb, found anywhere in a stream) and as a
 * hash of the canonical 68-byte file (.hdb). Real deployments mount the
 * freshclam database instead (docs/RUNBOOK.md, files).
 *
 * `createClamdInstance()` builds the same daemon for another directory and
 * port: fault tests kill their own, never the shared one.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { ensurePrereqs } from './prereqs.ts';
import { startDetached, stopIfOnAnotherPort, tcpProbe, waitFor, pidFileControl } from './proc.ts';
import type { LocalServer } from './server.ts';
import { settings } from './settings.ts';

export const CLAMD_BIN = '/usr/sbin/clamd';

/** The EICAR anti-virus test file (https://www.eicar.org), the one signature every scanner test uses. */
export const EICAR = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';

function signatures(): Record<string, string> {
  const hex = Buffer.from(EICAR, 'latin1').toString('hex');
  return {
    // Name:TargetType:Offset:HexSignature (target 0 = any file, offset * = anywhere)
    'bulwark.ndb': `Bulwark.Test.EICAR:0:*:${hex}\n`,
    // MD5:Size:Name of the exact 68-byte file
    'bulwark.hdb': `44d88612fea8a8f36de82e1278abb02f:68:Bulwark.Test.EICAR.HDB\n`,
  };
}

function clamdConf(dir: string, port: number): string {
  return `
TCPSocket ${port}
TCPAddr ${settings.host}
Foreground yes
DatabaseDirectory ${path.join(dir, 'db')}
LogFile ${path.join(dir, 'clamd.log')}
LogTime yes
# Streams larger than this are answered "INSTREAM size limit exceeded"; files' own limit is below it.
StreamMaxLength 100M
MaxFileSize 100M
MaxScanSize 200M
MaxThreads 4
SelfCheck 0
OfficialDatabaseOnly no
Bytecode no
`;
}

/** Sends one null-terminated clamd command and returns the reply without its terminator. */
export function clamdCommand(port: number, command: string, timeoutMs = 1000): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: settings.host, port });
    let data = '';
    const done = (value: string | undefined): void => {
      socket.destroy();
      resolve(value);
    };
    socket.setTimeout(timeoutMs, () => done(undefined));
    socket.once('connect', () => socket.write(`z${command}\0`));
    socket.on('data', (chunk) => {
      data += chunk.toString('utf8');
      if (data.includes('\0')) done(data.slice(0, data.indexOf('\0')));
    });
    socket.once('error', () => done(undefined));
    socket.once('close', () => done(data === '' ? undefined : data.replace(/\0$/, '')));
  });
}

const ping = async (port: number): Promise<boolean> => (await clamdCommand(port, 'PING')) === 'PONG';

export interface ClamdInstanceOptions {
  name?: string;
  dir: string;
  port: number;
}

export interface ClamdInstance extends LocalServer {
  readonly port: number;
  pid(): number | undefined;
  kill(signal: 'SIGTERM' | 'SIGKILL', timeoutMs?: number): Promise<void>;
}

export function createClamdInstance(options: ClamdInstanceOptions): ClamdInstance {
  const { dir, port } = options;
  const name = options.name ?? 'clamd';
  const confFile = path.join(dir, 'clamd.conf');
  const pidFile = path.join(dir, 'clamd.pid');
  const logFile = path.join(dir, 'clamd.out');
  const control = pidFileControl(name, pidFile, confFile);
  const ours = control.ours;

  return {
    name,
    port,
    url: `tcp://${settings.host}:${port}`,
    logFile,
    clientEnv: () => ({ BULWARK_CLAMD_HOST: settings.host, BULWARK_CLAMD_PORT: String(port) }),
    async status() {
      return { healthy: await ping(port), ours: ours() };
    },
    async up() {
      ensurePrereqs(['clamd']);
      if (await ping(port)) return;
      await stopIfOnAnotherPort(pidFile, confFile, [port]);
      if (ours()) {
        await waitFor(`${name} on :${port}`, () => ping(port), 60_000, logFile);
        return;
      }
      if (await tcpProbe(settings.host, port)) throw new Error(`port ${port} is taken by something that is not clamd; set BULWARK_CLAMD_PORT`);
      fs.mkdirSync(path.join(dir, 'db'), { recursive: true });
      for (const [file, body] of Object.entries(signatures())) fs.writeFileSync(path.join(dir, 'db', file), body);
      fs.writeFileSync(confFile, clamdConf(dir, port));
      startDetached(CLAMD_BIN, ['--foreground', `--config-file=${confFile}`], logFile, pidFile);
      await waitFor(`${name} on :${port}`, () => ping(port), 60_000, logFile);
    },
    down: control.down,
    pid: control.pid,
    kill: control.kill,
  };
}

/** The shared daemon of `npm run infra` / Jest global setup. */
export const clamd: ClamdInstance = createClamdInstance({ name: 'clamd', ...settings.clamd });
