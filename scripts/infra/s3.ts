/**
 * S3-compatible object storage under .local/s3: versitygw (Apache-2.0, one Go
 * binary) with its POSIX backend, so buckets are directories and objects are
 * files. Built once per machine from the Go module proxy into .local/s3/bin
 * (`go install`, nice -n 19, one build job); a stamp records the version, so a
 * bump rebuilds and nothing else does. Clients reach it only through
 * `@aws-sdk/client-s3` with the credentials generated into
 * .local/s3/credentials.json (0600) on first use.
 *
 * `createS3Instance()` builds the same server for another directory and port
 * (sharing the binary and the credentials): fault tests kill their own, never
 * the shared one.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { run, startDetached, stopIfOnAnotherPort, tcpProbe, waitFor, pidFileControl } from './proc.ts';
import type { LocalServer } from './server.ts';
import { settings } from './settings.ts';

/** The versitygw release built; bump here and the next `up` rebuilds. */
export const VERSITYGW_VERSION = 'v1.8.0';
const MODULE = 'github.com/versity/versitygw/cmd/versitygw';

const binDir = path.join(settings.s3.dir, 'bin');
const binary = path.join(binDir, 'versitygw');
const stampFile = path.join(binDir, 'versitygw.version');
const credentialsFile = path.join(settings.s3.dir, 'credentials.json');

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/** This checkout's root credentials, generated on first use (0600). */
export function s3Credentials(): S3Credentials {
  try {
    return JSON.parse(fs.readFileSync(credentialsFile, 'utf8')) as S3Credentials;
  } catch {
    fs.mkdirSync(settings.s3.dir, { recursive: true });
    const creds = { accessKeyId: `bulwark${randomBytes(6).toString('hex')}`, secretAccessKey: randomBytes(24).toString('base64url') };
    fs.writeFileSync(credentialsFile, JSON.stringify(creds), { mode: 0o600 });
    return creds;
  }
}

function findGo(): string {
  for (const candidate of ['go', '/usr/local/go/bin/go']) {
    if (spawnSync(candidate, ['version'], { stdio: 'ignore' }).status === 0) return candidate;
  }
  throw new Error('Go is needed to build the S3 server (versitygw) once: install Go >= 1.26 (https://go.dev/dl) into /usr/local/go');
}

/** Builds versitygw unless this version is already built (a cold build takes a few minutes on two cores). */
export function ensureS3Binary(): string {
  if (fs.existsSync(binary) && readStamp() === VERSITYGW_VERSION) return binary;
  fs.mkdirSync(binDir, { recursive: true });
  const started = Date.now();
  process.stderr.write(`s3: building versitygw ${VERSITYGW_VERSION} from the Go module proxy (once per machine) ...\n`);
  run('nice', ['-n', '19', findGo(), 'install', '-ldflags', '-s -w', `${MODULE}@${VERSITYGW_VERSION}`], {
    cwd: binDir,
    env: { ...process.env, GOBIN: binDir, GOFLAGS: '-trimpath -buildvcs=false -p=1', GOTOOLCHAIN: 'local' },
  });
  fs.writeFileSync(stampFile, VERSITYGW_VERSION);
  process.stderr.write(`s3: built versitygw in ${Math.round((Date.now() - started) / 1000)} s\n`);
  return binary;
}

function readStamp(): string | undefined {
  try {
    return fs.readFileSync(stampFile, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** An unauthenticated request gets an S3 XML error from versitygw: enough to tell it from another server on the port. */
async function answers(port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://${settings.host}:${port}/`, { signal: AbortSignal.timeout(1000) });
    const body = await res.text();
    return body.includes('<Error>') || body.includes('ListAllMyBucketsResult');
  } catch {
    return false;
  }
}

export interface S3InstanceOptions {
  name?: string;
  dir: string;
  port: number;
}

export interface S3Instance extends LocalServer {
  readonly port: number;
  pid(): number | undefined;
  /** Sends `signal` and waits until the process is gone. */
  kill(signal: 'SIGTERM' | 'SIGKILL', timeoutMs?: number): Promise<void>;
}

export function createS3Instance(options: S3InstanceOptions): S3Instance {
  const { dir, port } = options;
  const name = options.name ?? 's3';
  const dataDir = path.join(dir, 'data');
  const pidFile = path.join(dir, 'versitygw.pid');
  const logFile = path.join(dir, 'versitygw.log');
  const url = `http://${settings.host}:${port}`;
  // The data directory is on the command line: it makes the process recognisably this instance's.
  const control = pidFileControl(name, pidFile, dataDir);
  const ours = control.ours;

  return {
    name,
    port,
    url,
    logFile,
    clientEnv() {
      const creds = s3Credentials();
      return { BULWARK_S3_URL: url, BULWARK_S3_ACCESS_KEY: creds.accessKeyId, BULWARK_S3_SECRET_KEY: creds.secretAccessKey };
    },
    async status() {
      return { healthy: await answers(port), ours: ours() };
    },
    async up() {
      if (await answers(port)) return;
      await stopIfOnAnotherPort(pidFile, dataDir, [port]);
      if (await tcpProbe(settings.host, port)) throw new Error(`port ${port} is taken by something that is not our S3 server; set BULWARK_S3_PORT`);
      const bin = ensureS3Binary();
      fs.mkdirSync(dataDir, { recursive: true });
      const creds = s3Credentials();
      // Credentials through the environment, not argv: /proc/<pid>/cmdline is world-readable.
      startDetached(bin, ['--port', `${settings.host}:${port}`, '--quiet', 'posix', dataDir], logFile, pidFile, {
        env: { ...process.env, ROOT_ACCESS_KEY: creds.accessKeyId, ROOT_SECRET_KEY: creds.secretAccessKey },
      });
      await waitFor(`${name} on :${port}`, () => answers(port), 30_000, logFile);
    },
    down: control.down,
    pid: control.pid,
    kill: control.kill,
  };
}

/** The shared server of `npm run infra` / Jest global setup. */
export const s3: S3Instance = createS3Instance({ name: 's3', ...settings.s3 });
