import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { AppError, PROBLEM_CONTENT_TYPE, registerErrorCodes } from '@bulwark/errors';
import type { RequestHandler } from 'express';
import { createService, type Service } from '../src/index.ts';
import { captureLogs, testConfig } from './helpers.ts';

registerErrorCodes([{ code: 'TEST_MIDDLEWARE_REFUSED', status: 409, title: 'Refused by middleware', description: 'test' }]);

const seen: unknown[] = [];
const guard: RequestHandler = (req, res, next) => {
  seen.push(req.body);
  const mode = req.get('x-mode');
  if (mode === 'answer') {
    res.status(202).json({ answeredBy: 'middleware' });
    return;
  }
  if (mode === 'error') return next(new AppError('TEST_MIDDLEWARE_REFUSED', 'no', { status: 409 }));
  res.locals.note = 'from middleware';
  next();
};

let service: Service;
let url: string;
beforeAll(async () => {
  service = createService({
    name: 'route-middleware-test',
    config: testConfig(),
    logDestination: captureLogs().destination,
    routes(r) {
      r.post('/things', {
        summary: 'Create a thing',
        body: z.object({ n: z.number().int().positive() }),
        middleware: [guard],
        responses: { 201: z.object({ n: z.number(), note: z.string() }) },
        handler: ({ body, res }) => ({ status: 201, body: { n: body.n, note: String(res.locals.note) } }),
      });
    },
  });
  ({ url } = await service.start());
});
afterAll(async () => {
  await service.stop();
});

const post = (body: unknown, mode?: string) =>
  fetch(`${url}/things`, { method: 'POST', headers: { 'content-type': 'application/json', ...(mode ? { 'x-mode': mode } : {}) }, body: JSON.stringify(body) });

describe('route middleware', () => {
  it('when the request is valid, then the middleware runs before the handler with the parsed body', async () => {
    seen.length = 0;
    const res = await post({ n: 2 });
    expect(res.status).toBe(201);
    expect(await res.json()).toEqual({ n: 2, note: 'from middleware' });
    expect(seen).toEqual([{ n: 2 }]);
  });

  it('when the request is invalid, then 400 and the middleware never runs', async () => {
    seen.length = 0;
    const res = await post({ n: -1 });
    expect(res.status).toBe(400);
    expect(seen).toEqual([]);
  });

  it('when the middleware answers itself, then the handler does not run', async () => {
    const res = await post({ n: 1 }, 'answer');
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ answeredBy: 'middleware' });
  });

  it('when the middleware passes an error, then it becomes problem+json', async () => {
    const res = await post({ n: 1 }, 'error');
    expect(res.status).toBe(409);
    expect(res.headers.get('content-type')).toBe(PROBLEM_CONTENT_TYPE);
    expect(await res.json()).toMatchObject({ code: 'TEST_MIDDLEWARE_REFUSED' });
  });
});
