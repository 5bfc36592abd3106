import { describe, expect, it } from '@jest/globals';
import { request as httpRequest, Agent } from 'node:http';
import { z } from 'zod';
import { createService, type Dependency } from '../src/index.ts';
import { captureLogs, gate, testConfig } from './helpers.ts';

function slowService(release: Promise<void>, entered: () => void, dependencies: Dependency[] = []) {
  return createService({
    name: 'slow',
    config: testConfig({ READINESS_TIMEOUT_MS: '60000' }),
    logDestination: captureLogs().destination,
    dependencies,
    routes(r) {
      r.get('/slow', {
        summary: 'Waits for the test',
        responses: { 200: z.object({ done: z.boolean() }) },
        handler: async () => {
          entered();
          await release;
          return { status: 200, body: { done: true } };
        },
      });
    },
  });
}

describe('service.stop()', () => {
  it('when a request is in flight, then it completes during stop, new connections are refused and dependencies close in reverse order', async () => {
    const closed: string[] = [];
    const dep = (name: string): Dependency => ({ name, check: async () => {}, close: async () => void closed.push(name) });
    const release = gate();
    const entered = gate();
    const service = slowService(release.promise, entered.open, [dep('postgres'), dep('redis')]);
    service.addDependency(dep('kafka'));
    const { url } = await service.start();

    // An idle keep-alive connection must not hold shutdown.
    const idle = await fetch(`${url}/healthz`);
    await idle.arrayBuffer();

    const inFlight = fetch(`${url}/slow`);
    await entered.promise;
    const stopped = service.stop();

    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
    release.open();
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ done: true });
    await stopped;
    expect(closed).toEqual(['kafka', 'redis', 'postgres']);
  });

  it('when a readiness probe is answered while draining, then it is 503 problem+json', async () => {
    const checkStarted = gate();
    const checkRelease = gate();
    const service = slowService(Promise.resolve(), () => {}, [
      { name: 'postgres', check: async () => { checkStarted.open(); await checkRelease.promise; } },
    ]);
    const { url } = await service.start();
    const probe = fetch(`${url}/readyz`);
    await checkStarted.promise;
    const stopped = service.stop();
    checkRelease.open();
    const res = await probe;
    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(await res.json()).toMatchObject({ code: 'NOT_READY', draining: true });
    await stopped;
  });

  it('when the drain deadline passes, then remaining connections are destroyed and stop resolves', async () => {
    const entered = gate();
    const never = new Promise<void>(() => {});
    const service = createService({
      name: 'stuck',
      config: testConfig({ SHUTDOWN_TIMEOUT_MS: '50' }),
      logDestination: captureLogs().destination,
      routes(r) {
        r.get('/stuck', { summary: 'Never answers', responses: { 204: null }, handler: async () => { entered.open(); await never; return { status: 204 }; } });
      },
    });
    const { port } = await service.start();
    const agent = new Agent({ keepAlive: true });
    const failed = new Promise<Error>((resolve) => {
      httpRequest({ port, host: '127.0.0.1', path: '/stuck', agent }).on('error', resolve).end();
    });
    await entered.promise;
    await service.stop();
    expect((await failed).message).toMatch(/socket hang up|ECONNRESET/);
    agent.destroy();
  });
});

describe('service.onDrain()', () => {
  it('when a connection was upgraded (no HTTP connection any more), then the drain hook ends it and stop resolves without the drain deadline', async () => {
    const service = createService({ name: 'upgraded', config: testConfig({ SHUTDOWN_TIMEOUT_MS: '600000' }), logDestination: captureLogs().destination });
    const { port } = await service.start();
    const upgraded = new Set<import('node:stream').Duplex>();
    service.server!.on('upgrade', (_req, socket: import('node:stream').Duplex) => {
      upgraded.add(socket);
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: test\r\nConnection: Upgrade\r\n\r\n');
    });
    const hookRan: string[] = [];
    service.onDrain(() => {
      hookRan.push(`draining with ${upgraded.size} upgraded`);
      for (const socket of upgraded) socket.destroy();
    });
    const client = await new Promise<import('node:stream').Duplex>((resolve, reject) => {
      httpRequest({ port, host: '127.0.0.1', path: '/tunnel', headers: { connection: 'Upgrade', upgrade: 'test' } })
        .on('upgrade', (_res, socket) => resolve(socket))
        .on('error', reject)
        .end();
    });
    const ended = new Promise<void>((resolve) => client.on('close', () => resolve()));
    await service.stop(); // without the hook the listener's close would wait for the tunnel until the 10-minute deadline
    await ended;
    expect(hookRan).toEqual(['draining with 1 upgraded']);
  });
});

describe('/readyz', () => {
  it('when a dependency fails or times out, then 503 lists the failing ones', async () => {
    const service = createService({
      name: 'deps',
      config: testConfig({ READINESS_TIMEOUT_MS: '50' }),
      logDestination: captureLogs().destination,
      dependencies: [
        { name: 'postgres', check: async () => {} },
        { name: 'redis', check: async () => { throw new Error('ECONNREFUSED secret-host:6379'); } },
        { name: 'kafka', check: (signal) => new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error))) },
      ],
    });
    const { url } = await service.start();
    const res = await fetch(`${url}/readyz`);
    expect(res.status).toBe(503);
    const body = (await res.json()) as { failing: unknown[] };
    expect(body.failing).toEqual([{ name: 'redis', reason: 'failed' }, { name: 'kafka', reason: 'timeout' }]);
    expect(JSON.stringify(body)).not.toContain('secret-host');
    await service.stop();
  });

  it('when a dependency that does not gate readiness fails, then 200 lists it under degraded; with a gating one failing too, 503 lists each in its place', async () => {
    let postgresUp = true;
    const service = createService({
      name: 'deps',
      config: testConfig(),
      logDestination: captureLogs().destination,
      dependencies: [
        { name: 'postgres', check: async () => { if (!postgresUp) throw new Error('down'); } },
        { name: 'email-provider', gatesReadiness: false, check: async () => { throw new Error('ECONNREFUSED'); } },
      ],
    });
    const { url } = await service.start();
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', dependencies: ['postgres', 'email-provider'], degraded: [{ name: 'email-provider', reason: 'failed' }] });
    postgresUp = false;
    const notReady = await fetch(`${url}/readyz`);
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toMatchObject({ failing: [{ name: 'postgres', reason: 'failed' }], degraded: [{ name: 'email-provider', reason: 'failed' }] });
    await service.stop();
  });
});
