import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { isAppError, toProblem } from '@bulwark/errors';
import { fromRequestError } from './http-pipeline.ts';
import { validateRequest, type RouteDefinition } from './routes.ts';

const route = {
  method: 'POST',
  path: '/orders/:id',
  summary: 'x',
  params: z.object({ id: z.uuid() }),
  query: z.object({ dryRun: z.enum(['true', 'false']).optional() }),
  body: z.object({ items: z.array(z.object({ sku: z.string(), qty: z.number().int().positive() })).min(1) }),
  responses: {},
  handler: () => ({ status: 200 }),
} as unknown as RouteDefinition;

describe('validateRequest', () => {
  it('when params, query and body are all invalid, then one 400 lists every issue with its location and path', () => {
    const result = validateRequest(route, { params: { id: 'nope' }, query: { dryRun: 'maybe' }, body: { items: [{ sku: 'a', qty: 0 }] } });
    expect(result.ok).toBe(false);
    const problem = toProblem(!result.ok ? result.error : undefined);
    expect(problem.status).toBe(400);
    expect(problem.body.code).toBe('REQUEST_VALIDATION_FAILED');
    expect((problem.body.issues as { in: string; path: string }[]).map((i) => `${i.in}:${i.path}`)).toEqual(['params:id', 'query:dryRun', 'body:items.0.qty']);
  });

  it('when the body is missing, then the issue points at the body as a whole', () => {
    const result = validateRequest(route, { params: { id: '0e8f8b5c-1a2b-4c3d-8e9f-0a1b2c3d4e5f' }, query: {}, body: undefined });
    expect(!result.ok && toProblem(result.error).body.issues).toEqual([{ in: 'body', path: '', message: expect.any(String) }]);
  });
});

describe('fromRequestError', () => {
  it('when express.json fails to parse, then it is MALFORMED_JSON 400', () => {
    const mapped = fromRequestError(Object.assign(new Error('Unexpected token'), { type: 'entity.parse.failed', status: 400 }), 100);
    expect(isAppError(mapped) && [mapped.code, mapped.status]).toEqual(['MALFORMED_JSON', 400]);
  });

  it('when the body is too large, then it is 413 with the limit', () => {
    const mapped = fromRequestError(Object.assign(new Error('too large'), { type: 'entity.too.large', status: 413 }), 100);
    expect(toProblem(mapped).body).toMatchObject({ status: 413, code: 'BODY_TOO_LARGE', limitBytes: 100 });
  });

  it('when the charset is not UTF-8, then it is 415', () => {
    const mapped = fromRequestError(Object.assign(new Error('charset'), { type: 'charset.unsupported', status: 415 }), 100);
    expect(toProblem(mapped).status).toBe(415);
  });

  it('when the error is unexpected, then it passes through and maps to a 500 that leaks nothing', () => {
    const err = new Error('connect ECONNREFUSED 10.0.0.7:5432');
    expect(fromRequestError(err, 100)).toBe(err);
    expect(JSON.stringify(toProblem(err).body)).not.toContain('10.0.0.7');
  });
});
