import { AsyncLocalStorage } from 'node:async_hooks';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import type { RequestHandler } from 'express';
import { createService, type Service } from '../src/index.ts';
import { captureLogs, testConfig } from './helpers.ts';

// What @bulwark/db's withRequestTenant does, without the database: the scope a request enters must be
// the one its middleware and handler (after body parsing, after awaits) run in.
const scope = new AsyncLocalStorage<string>();
const seenByMiddleware: Array<string | undefined> = [];
const remember: RequestHandler = (_req, _res, next) => {
  setImmediate(() => {
    seenByMiddleware.push(scope.getStore());
    next();
  });
};

let service: Service;
let url: string;
beforeAll(async () => {
  service = createService({
    name: 'request-scope-test',
    config: testConfig(),
    logDestination: captureLogs().destination,
    requestScope: (req, run) => {
      const tenant = req.headers['x-auth-tenant'];
      return typeof tenant === 'string' ? scope.run(tenant, run) : run();
    },
    routes(r) {
      r.post('/things', {
        summary: 'Create a thing',
        body: z.object({ n: z.number() }),
        middleware: [remember],
        responses: { 200: z.object({ tenant: z.string().nullable() }) },
        handler: async () => {
          await new Promise((resolve) => setImmediate(resolve)); // continue from another turn of the event loop
          return { status: 200, body: { tenant: scope.getStore() ?? null } };
        },
      });
    },
  });
  ({ url } = await service.start());
});
afterAll(async () => {
  await service.stop();
});

const post = (tenant?: string) =>
  fetch(`${url}/things`, { method: 'POST', headers: { 'content-type': 'application/json', ...(tenant ? { 'x-auth-tenant': tenant } : {}) }, body: JSON.stringify({ n: 1 }) }).then((r) => r.json());

describe('request scope', () => {
  it('when a request carries a tenant, then its middleware and handler run in that scope, and a request without one in none', async () => {
    seenByMiddleware.length = 0;
    const answers = await Promise.all([post('acme'), post('globex'), post()]);
    expect(answers).toEqual([{ tenant: 'acme' }, { tenant: 'globex' }, { tenant: null }]);
    expect(seenByMiddleware.sort()).toEqual(['acme', 'globex', undefined].sort());
  });
});
