import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { registerErrorCodes } from '@bulwark/errors';
import './errors.ts';
import { buildOpenApiDocument, OPENAPI_CONTRACT } from './openapi.ts';
import type { RouteDefinition } from './routes.ts';

registerErrorCodes([{ code: 'TEST_THING_NOT_FOUND', status: 404, title: 'Thing not found', description: 'No thing has this id.' }]);

const route = (over: Partial<RouteDefinition>): RouteDefinition =>
  ({ method: 'POST', path: '/things/:id', summary: 'x', params: z.object({ id: z.string() }), responses: { 201: z.object({ id: z.string() }) }, handler: () => ({ status: 201 }), ...over }) as unknown as RouteDefinition;

type Op = { parameters?: { name: string; in: string; required: boolean }[]; responses: Record<string, { description: string; content?: Record<string, { schema: unknown }> }>; requestBody?: { content: Record<string, { schema: unknown }> } };

describe('buildOpenApiDocument', () => {
  it('when a schema reuses or recurses (z.json), then its $defs become components and every $ref points there', () => {
    const doc = buildOpenApiDocument({ title: 't', version: '1' }, [route({ body: z.object({ data: z.json(), other: z.json() }) })]);
    const text = JSON.stringify(doc);
    expect(text).not.toContain('#/$defs/');
    for (const [, name] of text.matchAll(/"#\/components\/schemas\/([^"]+)"/g)) expect(doc.components.schemas[name!]).toBeDefined();
  });

  it('when responses are built, then a success is described by its status and errors are problem+json with their codes', () => {
    const doc = buildOpenApiDocument({ title: 't', version: '1' }, [route({ body: z.object({ n: z.number() }), errors: ['TEST_THING_NOT_FOUND'] })]);
    const op = doc.paths['/things/{id}']!.post as Op;
    expect(op.responses['201']!.description).toBe('Created');
    expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['201', '400', '404', '413', '415', 'default']));
    expect(Object.keys(op.responses).filter((s) => /^2/.test(s))).toEqual(['201']);
    expect(op.responses['404']!.content!['application/problem+json']!.schema).toEqual({ allOf: [{ $ref: '#/components/schemas/Problem' }, { type: 'object', properties: { code: { enum: ['TEST_THING_NOT_FOUND'] } } }] });
    expect(op.responses['400']!.description).toContain('MALFORMED_JSON');
  });

  it('when a middleware carries a contract, then its headers and errors are part of the operation', () => {
    const middleware = Object.assign(() => undefined, { [OPENAPI_CONTRACT]: { headers: [{ name: 'Idempotency-Key', required: true }], errors: ['TEST_THING_NOT_FOUND'] } });
    const doc = buildOpenApiDocument({ title: 't', version: '1' }, [route({ middleware: [middleware] })]);
    const op = doc.paths['/things/{id}']!.post as Op;
    expect(op.parameters).toContainEqual(expect.objectContaining({ name: 'Idempotency-Key', in: 'header', required: true }));
    expect(op.responses['404']).toBeDefined();
  });

  it('when a route names an unregistered error code, then building the document fails naming the route', () => {
    expect(() => buildOpenApiDocument({ title: 't', version: '1' }, [route({ errors: ['NO_SUCH_CODE'] })])).toThrow(/POST \/things\/:id: error code NO_SUCH_CODE is not registered/);
  });

  it('when a route streams its successes in other media types, then produces documents each: JSON lines with the record schema, text as a string', () => {
    const doc = buildOpenApiDocument({ title: 't', version: '1' }, [route({ produces: ['application/x-ndjson', 'text/csv'] })]);
    const content = (doc.paths['/things/{id}']!.post as Op).responses['201']!.content!;
    expect(Object.keys(content)).toEqual(['application/x-ndjson', 'text/csv']);
    expect(content['application/x-ndjson']!.schema).toMatchObject({ type: 'object', properties: { id: { type: 'string' } } });
    expect(content['text/csv']!.schema).toEqual({ type: 'string' });
  });

  it('when a route reads its body itself, then rawBody documents it', () => {
    const doc = buildOpenApiDocument({ title: 't', version: '1' }, [route({ rawBody: { schema: z.object({ type: z.string() }) } })]);
    expect((doc.paths['/things/{id}']!.post as Op).requestBody!.content['application/json']!.schema).toMatchObject({ type: 'object' });
  });
});
