/**
 * OpenAPI 3.1 document built from the route declarations that also validate
 * requests. Zod 4 emits JSON Schema 2020-12, the dialect OpenAPI 3.1 uses, so
 * schemas go in as they are. Request schemas are documented as inputs (what a
 * client may send, defaults optional), response schemas as outputs.
 */
import { z } from 'zod';
import { statusTitle } from '@bulwark/errors';
import type { RouteDefinition } from './routes.ts';
import { toOpenApiPath } from './route-table.ts';

type JsonSchema = Record<string, unknown>;

export interface OpenApiDocument {
  openapi: '3.1.0';
  info: { title: string; version: string };
  paths: Record<string, Record<string, unknown>>;
  components: { schemas: Record<string, JsonSchema> };
}

const PROBLEM_SCHEMA: JsonSchema = {
  type: 'object',
  description: 'RFC 9457 problem details.',
  required: ['type', 'title', 'status', 'code'],
  properties: {
    type: { type: 'string', format: 'uri' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    instance: { type: 'string' },
    code: { type: 'string', description: 'Registered error code.' },
    issues: {
      type: 'array',
      items: { type: 'object', properties: { in: { enum: ['params', 'query', 'body'] }, path: { type: 'string' }, message: { type: 'string' } } },
    },
  },
  additionalProperties: true,
};

const problemResponse = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
});

export function toJsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const json = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as JsonSchema;
  delete json.$schema;
  return json;
}

function parameters(where: 'path' | 'query', schema: z.ZodObject | undefined): unknown[] {
  if (!schema) return [];
  const json = toJsonSchema(schema, 'input');
  const properties = (json.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((json.required ?? []) as string[]);
  return Object.entries(properties).map(([name, property]) => {
    const { description, ...rest } = property;
    const parameter: Record<string, unknown> = { name, in: where, required: where === 'path' || required.has(name), schema: rest };
    if (description !== undefined) parameter.description = description;
    return parameter;
  });
}

function operation(route: RouteDefinition): Record<string, unknown> {
  const op: Record<string, unknown> = {
    summary: route.summary,
    operationId: route.operationId ?? defaultOperationId(route),
  };
  if (route.description) op.description = route.description;
  if (route.tags) op.tags = route.tags;
  const params = [...parameters('path', route.params), ...parameters('query', route.query)];
  if (params.length > 0) op.parameters = params;
  if (route.body) {
    op.requestBody = { required: !route.body.safeParse(undefined).success, content: { 'application/json': { schema: toJsonSchema(route.body, 'input') } } };
  }
  const responses: Record<string, unknown> = {};
  for (const [status, schema] of Object.entries(route.responses)) {
    responses[status] = schema
      ? { description: statusTitle(Number(status)), content: { 'application/json': { schema: toJsonSchema(schema, 'output') } } }
      : { description: statusTitle(Number(status)) };
  }
  if (route.params || route.query || route.body) responses['400'] ??= problemResponse('The request did not match the schema, or its JSON is malformed.');
  if (route.body) {
    responses['413'] ??= problemResponse('The body is larger than the service accepts.');
    responses['415'] ??= problemResponse('The body is not application/json.');
  }
  responses.default = problemResponse('Any other error, as problem+json.');
  op.responses = responses;
  return op;
}

function defaultOperationId(route: RouteDefinition): string {
  const words = route.path.split('/').filter(Boolean).map((s) => (s.startsWith(':') ? `by-${s.slice(1)}` : s));
  return [route.method.toLowerCase(), ...words].join('-').replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''));
}

/** Builds the document; called once, after routes are registered. */
export function buildOpenApiDocument(info: { title: string; version: string }, routes: readonly RouteDefinition[]): OpenApiDocument {
  const paths: OpenApiDocument['paths'] = {};
  for (const route of routes) {
    const path = toOpenApiPath(route.path);
    (paths[path] ??= {})[route.method.toLowerCase()] = operation(route);
  }
  return { openapi: '3.1.0', info, paths, components: { schemas: { Problem: PROBLEM_SCHEMA } } };
}
