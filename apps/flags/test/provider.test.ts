/**
 * The OpenFeature provider against the real flags service, every party a
 * real process: flags runs its own main.ts, two probes (provider-probe.ts)
 * stand for two instances of a platform service. A flag change reaches both
 * within a bounded time (the assertion polls; the bound is waitFor's
 * deadline, not a timing assertion), and SIGKILL of flags leaves both
 * evaluating from their last snapshot until flags is back, when a new
 * change reaches them again over the reopened stream (Last-Event-ID).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { fileURLToPath } from 'node:url';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, freePort, startService, TEST_TENANT, type Service } from '@bulwark/test-support';
import { ADMIN, booleanFlag, call, setupFlags, type TestFlags } from './support.ts';

const FLAGS_MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const PROBE = fileURLToPath(new URL('./provider-probe.ts', import.meta.url));

interface Probe {
  value: boolean;
  reason: string;
  revision: number;
  streaming: boolean;
}

describe('OpenFeature provider across processes', () => {
  let env: TestFlags;
  let flagsPort: number;
  let flags: Service;
  let probes: Service[] = [];
  let dir: string;
  const read = async (probe: Service, key = 'gate'): Promise<Probe> => (await (await fetch(`${probe.url}/eval?key=${key}&targetingKey=u-1`)).json()) as Probe;
  const startFlags = () => startService({ main: FLAGS_MAIN, name: 'flags', port: flagsPort, env: env.env({ PORT: String(flagsPort), SSE_HEARTBEAT_MS: '500' }) });

  beforeAll(async () => {
    env = await setupFlags();
    dir = await mkdtemp(join(tmpdir(), 'flags-probe-'));
    flagsPort = await freePort();
    flags = await startFlags();
    expect((await call(flags.url, 'PUT', '/v1/flags/gate', booleanFlag(), ADMIN)).status).toBe(201);
    probes = await Promise.all(
      [0, 1].map((i) => startService({ main: PROBE, name: `probe-${i}`, env: { FLAGS_URL: flags.url, FLAGS_TENANT: TEST_TENANT, FLAGS_HEARTBEAT_MS: '500', SNAPSHOT_FILE: join(dir, `probe-${i}.json`) } })),
    );
  });
  afterAll(async () => {
    await Promise.all(probes.map((p) => p.stop()));
    await flags?.stop();
    await env.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  it('when an admin kills a flag, then both provider processes evaluate the off variant from their streamed snapshot; revived, both see it on again', async () => {
    for (const probe of probes) expect(await read(probe)).toMatchObject({ value: true, reason: 'STATIC', streaming: true });
    await call(flags.url, 'PUT', '/v1/flags/gate/kill', { killed: true }, ADMIN);
    for (const probe of probes) await eventually(`${probe.name} sees the kill`, () => read(probe), (r) => r.value === false && r.reason === 'DISABLED', 10_000);
    await call(flags.url, 'PUT', '/v1/flags/gate/kill', { killed: false }, ADMIN);
    for (const probe of probes) await eventually(`${probe.name} sees the revival`, () => read(probe), (r) => r.value === true, 10_000);
  });

  it('when flags is SIGKILLed, then both providers keep evaluating from their last snapshot; when it is back, a new change reaches them again', async () => {
    const before = await Promise.all(probes.map((p) => read(p)));
    await flags.kill('SIGKILL');
    for (const probe of probes) await eventually(`${probe.name} notices the stream is gone`, () => read(probe), (r) => !r.streaming, 10_000);
    const during = await Promise.all(probes.map((p) => read(p)));
    during.forEach((r, i) => expect(r).toMatchObject({ value: before[i]!.value, revision: before[i]!.revision, reason: 'STATIC' }));

    flags = await startFlags();
    for (const probe of probes) await eventually(`${probe.name} reconnects`, () => read(probe), (r) => r.streaming, 10_000);
    await call(flags.url, 'PUT', '/v1/flags/gate', booleanFlag({ environments: { production: { enabled: false, offVariant: 'off', rules: [], fallthrough: { variant: 'on' } } } }), ADMIN);
    for (const probe of probes) {
      const after = await eventually(`${probe.name} sees the change after the restart`, () => read(probe), (r) => r.value === false, 10_000);
      expect(after.revision).toBeGreaterThan(before[0]!.revision);
    }
  });

  it('when a service restarts while flags is down, then its provider starts from the snapshot it saved', async () => {
    const revision = (await read(probes[0]!)).revision;
    await flags.kill('SIGKILL');
    await probes[0]!.stop();
    probes[0] = await startService({ main: PROBE, name: 'probe-0-restarted', env: { FLAGS_URL: flags.url, FLAGS_TENANT: TEST_TENANT, FLAGS_HEARTBEAT_MS: '500', SNAPSHOT_FILE: join(dir, 'probe-0.json') } });
    expect(await read(probes[0])).toMatchObject({ value: false, revision, streaming: false });
    flags = await startFlags();
  });
});
