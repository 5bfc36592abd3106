import { describe, expect, it } from '@jest/globals';
import fs from 'node:fs';
import path from 'node:path';
import { defaultClusterPorts } from '../cluster/settings.ts';
import { discoverApps } from './services.ts';
import { defaultPorts, port, repoRoot } from './settings.ts';

/** The machine's range for outgoing connections' local ports; Linux's default where /proc does not say. */
function ephemeralRange(): [number, number] {
  try {
    const [low, high] = fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (Number.isInteger(low) && Number.isInteger(high)) return [low!, high!];
  } catch {
    // not Linux
  }
  return [32768, 60999];
}

describe('fixed listening ports', () => {
  const fixed: Array<[string, number]> = [
    ...Object.entries(defaultPorts),
    ...Object.entries(defaultClusterPorts),
    ...discoverApps().flatMap((a) => [[a.name, a.port] as [string, number], ...(a.companions ?? []).map((c) => [c.name, c.port] as [string, number])]),
    ...discoverApps(path.join(repoRoot, 'scripts/test/fixtures/apps')).map((a) => [`fixture ${a.name}`, a.port] as [string, number]),
  ];

  it('when any server is (re)started mid-run, then its default port cannot be held by an outgoing connection', () => {
    const [low, high] = ephemeralRange();
    expect(fixed.length).toBeGreaterThan(12);
    expect(fixed.filter(([, p]) => p >= low && p <= high)).toEqual([]);
    expect(fixed.filter(([, p]) => p >= 32768 && p <= 60999)).toEqual([]);
  });

  it('when every default is used at once, then no two servers share a port', () => {
    const seen = new Map<number, string>();
    const clashes = fixed.filter(([name, p]) => {
      const other = seen.get(p);
      seen.set(p, name);
      return other !== undefined && other !== name;
    });
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
