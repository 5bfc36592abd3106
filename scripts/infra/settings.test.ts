import { describe, expect, it } from '@jest/globals';
import fs from 'node:fs';
import path from 'node:path';
import { defaultClusterPorts } from '../cluster/settings.ts';
import { discoverApps } from './services.ts';
import { defaultPorts, port, repoRoot } from './settings.ts';

/** Linux's default range for outgoing connections' local ports (net.ipv4.ip_local_port_range). */
const EPHEMERAL = [32768, 60999] as const;

/** Local ports the Tiltfile forwards to on a laptop running `tilt up`: fixed ones, and 10000 + each service's port. */
function tiltForwards(): Array<[string, number]> {
  const tiltfile = fs.readFileSync(path.join(repoRoot, 'Tiltfile'), 'utf8');
  const fixed = [...tiltfile.matchAll(/port_forwards=\['(\d+):\d+'\]|port_forward\((\d+),/g)].map((m) => ['Tilt forward', Number(m[1] ?? m[2])] as [string, number]);
  expect(tiltfile).toContain('10000 + svc');
  const services = discoverApps().map((a) => [`Tilt forward of ${a.name}`, 10_000 + a.port] as [string, number]);
  return [...fixed, ...services];
}

describe('fixed listening ports', () => {
  const local: Array<[string, number]> = [
    ...Object.entries(defaultPorts),
    ...Object.entries(defaultClusterPorts),
    ...discoverApps().flatMap((a) => [[a.name, a.port] as [string, number], ...(a.companions ?? []).map((c) => [c.name, c.port] as [string, number])]),
    ...discoverApps(path.join(repoRoot, 'scripts/test/fixtures/apps')).map((a) => [`fixture ${a.name}`, a.port] as [string, number]),
  ];

  it('when any server is (re)started mid-run, then its default port cannot be held by an outgoing connection', () => {
    expect(local.length).toBeGreaterThan(12);
    expect(local.filter(([, p]) => p >= EPHEMERAL[0] && p <= EPHEMERAL[1])).toEqual([]);
  });

  it('when every default is used at once, next to tilt up on the same machine, then no two listeners share a port', () => {
    const tilt = tiltForwards();
    expect(tilt.length).toBeGreaterThan(3);
    const seen = new Map<number, string>();
    const clashes: string[] = [];
    for (const [name, p] of [...local, ...tilt]) {
      const other = seen.get(p);
      if (other !== undefined && other !== name) clashes.push(`${p}: ${other} and ${name}`);
      seen.set(p, name);
    }
    expect(clashes).toEqual([]);
  });

  it('when a port variable is set, then it must be a TCP port', () => {
    const saved = process.env.BULWARK_TEST_PORT;
    try {
      process.env.BULWARK_TEST_PORT = '70000';
      expect(() => port('BULWARK_TEST_PORT', 1)).toThrow(/not a TCP port/);
      process.env.BULWARK_TEST_PORT = '21000';
      expect(port('BULWARK_TEST_PORT', 1)).toBe(21000);
      delete process.env.BULWARK_TEST_PORT;
      expect(port('BULWARK_TEST_PORT', 15432)).toBe(15432);
    } finally {
      if (saved === undefined) delete process.env.BULWARK_TEST_PORT;
      else process.env.BULWARK_TEST_PORT = saved;
    }
  });
});
