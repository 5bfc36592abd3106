import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { createService, markRoute, type Service } from '../src/index.ts';
import { captureLogs, testConfig } from './helpers.ts';

let service: Service;
let url: string;

beforeAll(async () => {
  service = createService({
    name: 'fallback-test',
    config: testConfig(),
    logDestination: captureLogs().destination,
    defaultMetrics: false,
    routes(r, kit) {
      r.get('/declared', { summary: 'A declared route', responses: { 200: z.object({ by: z.string() }) }, handler: () => ({ status: 200, body: { by: 'route' } }) });
      kit.mountFallback((req, res, next) => {
        if (!req.path.startsWith('/catch/')) return next();
        markRoute(req, 'catch-all');
        res.json({ by: 'fallback' });
      });
    },
  });
  url = (await service.start()).url;
});

afterAll(() => service.stop());

describe('fallback handlers', () => {
  it('when a path matches no declared route, then the fallback answers it and labels its metrics', async () => {
    expect(await (await fetch(`${url}/catch/anything`)).json()).toEqual({ by: 'fallback' });
    expect(await service.metrics.metrics()).toMatch(/http_server_request_duration_seconds_count\{[^}]*route="catch-all"[^}]*\} 1/);
  });

  it('when a declared route matches, then the fallback never sees it', async () => {
    expect(await (await fetch(`${url}/declared`)).json()).toEqual({ by: 'route' });
  });

  it('when the fallback passes, then the kit still answers 404 and 405 as problem+json', async () => {
    const missing = await fetch(`${url}/nowhere`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toContain('application/problem+json');
    const wrongMethod = await fetch(`${url}/declared`, { method: 'DELETE' });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toContain('GET');
  });
});
