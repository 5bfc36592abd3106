/**
 * Finds the binaries the local servers need and installs missing ones from
 * Debian's packages when we may (root with apt-get and not told otherwise by
 * BULWARK_NO_INSTALL=1). Otherwise fails with one line naming the command
 * that installs what is missing.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

export const PG_BIN = '/usr/lib/postgresql/15/bin';

export interface Requirement {
  binary: string;
  debianPackage: string;
}

export const requirements = {
  postgres: [
    { binary: `${PG_BIN}/postgres`, debianPackage: 'postgresql-15' },
    { binary: '/usr/share/postgresql/15/extension/postgis.control', debianPackage: 'postgresql-15-postgis-3' },
  ],
  redis: [{ binary: 'redis-server', debianPackage: 'redis-server' }],
  kafka: [
    { binary: 'java', debianPackage: 'openjdk-17-jre-headless' },
    { binary: 'mvn', debianPackage: 'maven' },
  ],
  prometheus: [{ binary: 'prometheus', debianPackage: 'prometheus' }, { binary: 'promtool', debianPackage: 'prometheus' }],
  clamd: [{ binary: '/usr/sbin/clamd', debianPackage: 'clamav-daemon' }],
} satisfies Record<string, Requirement[]>;

function have(binary: string): boolean {
  if (binary.startsWith('/')) return fs.existsSync(binary);
  return spawnSync('sh', ['-c', `command -v ${binary}`], { stdio: 'ignore' }).status === 0;
}

let aptUpdated = false;

/** Ensures every requirement of the named servers is present, installing where allowed. */
export function ensurePrereqs(names: (keyof typeof requirements)[]): void {
  ensureRequirements(names.flatMap((n) => requirements[n]));
}

export function ensureRequirements(reqs: Requirement[]): void {
  const missing = [...new Set(reqs.filter((r) => !have(r.binary)).map((r) => r.debianPackage))];
  if (missing.length === 0) return;
  const installCmd = `apt-get install -y ${missing.join(' ')}`;
  const canInstall = process.getuid?.() === 0 && have('apt-get') && process.env.BULWARK_NO_INSTALL !== '1';
  if (!canInstall) throw new Error(`missing ${missing.join(', ')}: run \`sudo ${installCmd}\``);
  process.stderr.write(`installing ${missing.join(' ')} (apt-get)` + '\n');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (!aptUpdated) {
    spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    aptUpdated = true;
  }
  const result = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { stdio: ['ignore', 'ignore', 'inherit'], env });
  if (result.status !== 0) throw new Error(`apt-get could not install ${missing.join(' ')}: run \`${installCmd}\` and read its error`);
}
