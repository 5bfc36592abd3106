/**
 * OpenAPI 3.1 document built from the route declarations that also validate
 * requests. Zod 4 emits JSON Schema 2020-12, the dialect OpenAPI 3.1 uses;
 * its `$defs` are hoisted into `components/schemas` (openapi-schemas.ts).
 * Request schemas are documented as inputs (what a client may send, defaults
 * optional), response schemas as outputs.
 *
 * Every status an operation can answer is listed: the declared successes,
 * the kit's own errors that follow from the declaration (400 with params,
 * query or body; 413 and 415 with a body; 408 and 431 for any request), the
 * codes the route declares in `errors`, and what its middleware contributes
 * through `OPENAPI_CONTRACT` (the Idempotency-Key middleware: a required
 * header and its 400/409/422/503).
 * Errors are `application/problem+json` with the shared `Problem` schema, its
 * `code` narrowed to the codes of that status. `default` is left for
 * unexpected 5xx only.
 */
import { getErrorCode, type ErrorCodeInfo } from '@bulwark/errors';
import type { RouteDefinition } from './routes.ts';
import { toOpenApiPath } from './route-table.ts';
import { SchemaComponents, schemaHint, type JsonSchema } from './openapi-schemas.ts';

export { toJsonSchema, type JsonSchema } from './openapi-schemas.ts';

export interface OpenApiDocument {
  openapi: '3.1.0';
  info: { title: string; version: string; description?: string };
  paths: Record<string, Record<string, unknown>>;
  components: { schemas: Record<string, JsonSchema>; securitySchemes?: Record<string, unknown> };
  [extension: `x-${string}`]: unknown;
  servers?: { url: string; description?: string }[];
  security?: Record<string, string[]>[];
}

/** A request header an operation reads. */
export interface HeaderParameter {
  name: string;
  required?: boolean;
  description?: string;
  /** JSON Schema of the value; default `{ type: 'string' }`. */
  schema?: JsonSchema;
}

/** A header sent on the operation's success responses. */
export interface ResponseHeader {
  description: string;
  schema?: JsonSchema;
}

/**
 * What a route's middleware adds to its operation. Middleware carries it as
 * `handler[OPENAPI_CONTRACT]`; the key is `Symbol.for(...)`, so a package can
 * attach it without depending on the kit (as @bulwark/idempotency does).
 */
export interface OperationContract {
  headers?: readonly HeaderParameter[];
  /** Registered error codes (see @bulwark/errors) the middleware may answer with. */
  errors?: readonly string[];
  responseHeaders?: Readonly<Record<string, ResponseHeader>>;
}

export const OPENAPI_CONTRACT: unique symbol = Symbol.for('bulwark.openapi-contract') as never;

/** The contract a middleware carries, if any. */
export function contractOf(handler: unknown): OperationContract | undefined {
  if (typeof handler !== 'function') return undefined;
  return (handler as { [OPENAPI_CONTRACT]?: OperationContract })[OPENAPI_CONTRACT];
}

const PROBLEM_SCHEMA: JsonSchema = {
  type: 'object',
  description: 'RFC 9457 problem details.',
  required: ['type', 'title', 'status', 'code'],
  properties: {
    type: { type: 'string', format: 'uri' },
    title: { type: 'string' },
    status: { type: 'integer', minimum: 400, maximum: 599 },
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

const SUCCESS_DESCRIPTIONS: Record<number, string> = { 200: 'OK', 201: 'Created', 202: 'Accepted', 204: 'No Content' };

/** Kit codes any request may get before it reaches a route (the server refuses it as a whole, or is still starting). */
const CONNECTION_CODES = ['MALFORMED_REQUEST', 'HEADERS_TOO_LARGE', 'REQUEST_TIMEOUT', 'NOT_READY'];
/** Kit codes every route with a part to validate may answer. */
const VALIDATION_CODES = ['REQUEST_VALIDATION_FAILED'];
/** Kit codes of reading a JSON body. */
const BODY_CODES = ['MALFORMED_JSON', 'BAD_REQUEST', 'BODY_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE', 'JSON_TOO_DEEP'];

/** The kit's own codes among `codes` that this version of the kit registers. */
function kitCodes(codes: readonly string[]): string[] {
  return codes.filter((code) => getErrorCode(code) !== undefined);
}

function describeSuccess(status: number, schema: { description?: string } | null): string {
  return schema?.description ?? SUCCESS_DESCRIPTIONS[status] ?? `Status ${status}`;
}

function parameters(components: SchemaComponents, where: 'path' | 'query', route: RouteDefinition, hint: string): unknown[] {
  const schema = where === 'path' ? route.params : route.query;
  if (!schema) return [];
  const json = components.convert(schema, 'input', hint);
  const properties = (json.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((json.required ?? []) as string[]);
  return Object.entries(properties).map(([name, property]) => {
    const { description, ...rest } = property;
    // URL normalisation (RFC 3986 §5.2.4) removes a `.` or `..` segment before
    // the request leaves a client, so no client can send those values.
    const schema = where === 'path' && rest.type === 'string' ? { ...rest, not: { enum: ['.', '..'] } } : rest;
    const parameter: Record<string, unknown> = { name, in: where, required: where === 'path' || required.has(name), schema };
    if (description !== undefined) parameter.description = description;
    return parameter;
  });
}

function headerParameter(header: HeaderParameter): Record<string, unknown> {
  const parameter: Record<string, unknown> = { name: header.name, in: 'header', required: header.required ?? false, schema: header.schema ?? { type: 'string' } };
  if (header.description) parameter.description = header.description;
  return parameter;
}

function errorInfo(code: string, route: RouteDefinition): ErrorCodeInfo {
  const info = getErrorCode(code);
  if (!info) throw new Error(`route ${route.method} ${route.path}: error code ${code} is not registered (import the package's errors.ts first)`);
  return info;
}

function problemResponse(infos: readonly ErrorCodeInfo[]): Record<string, unknown> {
  const codes = [...new Set(infos.map((i) => i.code))].sort();
  return {
    description: infos.map((i) => `${i.code}: ${i.description}`).join('\n\n'),
    content: {
      'application/problem+json': {
        schema: { allOf: [{ $ref: '#/components/schemas/Problem' }, { type: 'object', properties: { code: { enum: codes } } }] },
      },
    },
  };
}

function operation(components: SchemaComponents, route: RouteDefinition): Record<string, unknown> {
  const operationId = route.operationId ?? defaultOperationId(route);
  const contracts = (route.middleware ?? []).map(contractOf).filter((c): c is OperationContract => c !== undefined);
  const op: Record<string, unknown> = { summary: route.summary, operationId };
  if (route.description) op.description = route.description;
  if (route.tags) op.tags = route.tags;

  const headers = [...(route.headers ?? []), ...contracts.flatMap((c) => c.headers ?? [])];
  const params = [...parameters(components, 'path', route, schemaHint(operationId, 'Params')), ...parameters(components, 'query', route, schemaHint(operationId, 'Query')), ...headers.map(headerParameter)];
  if (params.length > 0) op.parameters = params;
  if (route.rawBody) {
    const { schema, contentType = 'application/json' } = route.rawBody;
    op.requestBody = { required: true, content: { [contentType]: { schema: components.convert(schema, 'input', schemaHint(operationId, 'Body')) } } };
  }
  if (route.body) {
    op.requestBody = { required: !route.body.safeParse(undefined).success, content: { 'application/json': { schema: components.convert(route.body, 'input', schemaHint(operationId, 'Body')) } } };
  }

  const responseHeaders: Record<string, ResponseHeader> = Object.assign({}, ...contracts.map((c) => c.responseHeaders ?? {}));
  const responses: Record<string, unknown> = {};
  for (const [status, schema] of Object.entries(route.responses)) {
    const response: Record<string, unknown> = { description: describeSuccess(Number(status), schema) };
    if (schema) {
      const converted = components.convert(schema, 'output', schemaHint(operationId, `Response${status}`));
      const types = route.produces ?? ['application/json'];
      response.content = Object.fromEntries(types.map((type) => [type, { schema: isJsonType(type) || JSON_LINES.has(type) ? converted : { type: 'string' } }]));
    }
    if (Object.keys(responseHeaders).length > 0) {
      response.headers = Object.fromEntries(Object.entries(responseHeaders).map(([name, h]) => [name, { description: h.description, schema: h.schema ?? { type: 'string' } }]));
    }
    responses[status] = response;
  }

  const codes: string[] = kitCodes(CONNECTION_CODES);
  if (route.params || route.query || route.body) codes.push(...kitCodes(VALIDATION_CODES));
  if (route.body) codes.push(...kitCodes(BODY_CODES));
  codes.push(...(route.errors ?? []), ...contracts.flatMap((c) => c.errors ?? []));
  const byStatus = new Map<number, ErrorCodeInfo[]>();
  for (const code of new Set(codes)) {
    const info = errorInfo(code, route);
    const list = byStatus.get(info.status) ?? [];
    list.push(info);
    byStatus.set(info.status, list);
  }
  for (const [status, infos] of [...byStatus].sort(([a], [b]) => a - b)) {
    if (responses[status] !== undefined) throw new Error(`route ${route.method} ${route.path}: status ${status} is both a declared response and an error`);
    responses[status] = problemResponse(infos);
  }
  responses.default = {
    description: 'Unexpected server error (5xx), as problem+json.',
    content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
  };
  op.responses = responses;
  return op;
}

function defaultOperationId(route: RouteDefinition): string {
  const words = route.path.split('/').filter(Boolean).map((s) => (s.startsWith(':') ? `by-${s.slice(1)}` : s));
  return [route.method.toLowerCase(), ...words].join('-').replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''));
}

/** Builds the document; called once, after routes are registered. Throws on an unregistered error code. */
/**
 * `everyRoute`: error codes any route may answer with because of something around every route
 * (ServiceOptions.requestScopeErrors, e.g. a request without the tenant the database needs).
 */
export function buildOpenApiDocument(info: { title: string; version: string }, routes: readonly RouteDefinition[], everyRoute: readonly string[] = []): OpenApiDocument {
  const components = new SchemaComponents({ Problem: PROBLEM_SCHEMA });
  const paths: OpenApiDocument['paths'] = {};
  for (const route of routes) {
    const path = toOpenApiPath(route.path);
    (paths[path] ??= {})[route.method.toLowerCase()] = operation(components, everyRoute.length > 0 ? { ...route, errors: [...(route.errors ?? []), ...everyRoute] } : route);
  }
  return { openapi: '3.1.0', info, paths, components: { schemas: components.schemas } };
}

/** Media types whose body is one JSON value per line: the response schema describes each line. */
export const JSON_LINES: ReadonlySet<string> = new Set(['application/x-ndjson', 'application/jsonl', 'application/ndjson']);

/** `application/json` and the `+json` structured-syntax types. */
export function isJsonType(type: string): boolean {
  return type === 'application/json' || type.endsWith('+json');
}
