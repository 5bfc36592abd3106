/**
 * start({ prepare }): the server listens before the service's own
 * preparation (migrations, workers), so liveness answers at once; readiness
 * and every route say "starting" until the preparation has run.
 */
import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { createService, type Service } from '../src/index.ts';
import { captureLogs, gate, testConfig } from './helpers.ts';

function pingService(): Service {
  return createService({
    name: 'starting',
    config: testConfig(),
    logDestination: captureLogs().destination,
    routes(r) {
      r.get('/ping', { summary: 'Answers', responses: { 200: z.object({ ok: z.boolean() }) }, handler: async () => ({ status: 200, body: { ok: true } }) });
    },
  });
}

function urlOf(service: Service): string {
  const address = service.server?.address();
  if (address === null || address === undefined || typeof address === 'string') throw new Error('not listening');
  return `http://127.0.0.1:${address.port}`;
}

describe('service.start({ prepare })', () => {
  it('when the preparation is still running, then /healthz answers, /readyz and routes are 503 NOT_READY starting; when it has run, then ready and routes answer', async () => {
    const service = pingService();
    const entered = gate();
    const release = gate();
    const started = service.start({ prepare: async () => { entered.open(); await release.promise; } });
    await entered.promise;
    const url = urlOf(service);

    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const readyz = await fetch(`${url}/readyz`);
    expect(readyz.status).toBe(503);
    expect(await readyz.json()).toMatchObject({ code: 'NOT_READY', starting: true, draining: false });
    const ping = await fetch(`${url}/ping`);
    expect(ping.status).toBe(503);
    expect(ping.headers.get('retry-after')).toBe('1');
    expect(await ping.json()).toMatchObject({ code: 'NOT_READY', starting: true });

    release.open();
    expect((await started).url).toBe(url);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    expect(await (await fetch(`${url}/ping`)).json()).toEqual({ ok: true });
    const openapi = (await (await fetch(`${url}/openapi.json`)).json()) as { paths: Record<string, { get: { responses: Record<string, unknown> } }> };
    expect(JSON.stringify(openapi.paths['/ping']!.get.responses['503'])).toContain('NOT_READY'); // documented on every route
    await service.stop();
  });

  it('when the preparation fails, then start rejects with its error and the port is closed', async () => {
    const service = pingService();
    const entered = gate();
    const fail = gate();
    const started = service.start({ prepare: async () => { entered.open(); await fail.promise; throw new Error('migration failed'); } });
    await entered.promise;
    const url = urlOf(service);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    fail.open();
    await expect(started).rejects.toThrow('migration failed');
    await expect(fetch(`${url}/healthz`)).rejects.toThrow(); // closed before start rejected
  });
});
