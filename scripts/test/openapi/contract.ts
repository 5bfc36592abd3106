/**
 * Checks one OpenAPI document against the service that publishes it: builds
 * requests from each operation's schemas (fast-check, json-schema-arbitrary.ts)
 * and from ids earlier answers handed out, sends them, and reports every answer that breaks the document: a 5xx, a
 * status the operation does not declare, a body that does not match the
 * declared schema of its status and media type (ajv, JSON Schema 2020-12).
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { nearValid, serializeJson, valid, type Schema, type SchemaContext } from './json-schema-arbitrary.ts';
import { isJsonType, JSON_LINES } from '@bulwark/service-kit';

// ajv-formats is CommonJS with a default export.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv2020) => Ajv2020;

type Json = Record<string, unknown>;

/** Transport errors where the connection closed before any answer (undici reports them as the cause of "fetch failed"). */
const CONNECTION_LOST = new Set<string | undefined>(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']);
const causeCode = (err: unknown): string | undefined => {
  const cause = (err as { cause?: { code?: unknown } } | undefined)?.cause;
  return typeof cause?.code === 'string' ? cause.code : undefined;
};

export interface OpenApiDoc {
  paths: Record<string, Record<string, Json>>;
  components?: { schemas?: Record<string, Schema> };
  [key: string]: unknown;
}

export interface Operation {
  method: string;
  path: string;
  op: Json;
  pointer: string;
}

export interface Violation {
  service: string;
  operation: string;
  status: number;
  problem: string;
  request: { method: string; url: string; headers: Record<string, string>; body?: string };
  response: string;
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch'];

function escapePointer(segment: string): string {
  return segment.replaceAll('~', '~0').replaceAll('/', '~1');
}

export function operationsOf(doc: OpenApiDoc): Operation[] {
  const ops: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of METHODS) {
      const op = item[method];
      if (op) ops.push({ method, path, op, pointer: `/paths/${escapePointer(path)}/${method}` });
    }
  }
  return ops;
}

/** Every `$ref` of the document that does not resolve (local refs only). */
export function unresolvedRefs(doc: OpenApiDoc): string[] {
  const bad: string[] = [];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (node === null || typeof node !== 'object') return;
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string' && resolvePointer(doc, v) === undefined) bad.push(v);
      else visit(v);
    }
  };
  visit(doc);
  return bad;
}

function resolvePointer(doc: unknown, ref: string): unknown {
  if (!ref.startsWith('#/')) return undefined;
  let node: unknown = doc;
  for (const raw of ref.slice(2).split('/')) {
    const segment = decodeURIComponent(raw).replaceAll('~1', '/').replaceAll('~0', '~');
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, segment)) return undefined;
    node = (node as Json)[segment];
  }
  return node;
}

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required?: boolean;
  schema?: Schema;
}

interface GeneratedRequest {
  params: Record<string, unknown>;
  query: Record<string, unknown>;
  headers: Record<string, string>;
  body: unknown;
  sendBody: boolean;
  auth: 'valid' | 'none' | 'garbage';
}

const HEADER_SAFE = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/;

function toQueryValue(v: unknown): string {
  return typeof v === 'string' ? v : serializeJson(v);
}

export interface ContractOptions {
  service: string;
  baseUrl: string;
  doc: OpenApiDoc;
  numRuns: number;
  /** A bearer token with these roles, for operations with a security requirement. */
  token?: (roles: string[]) => Promise<string>;
  /** Extra headers on every request (e.g. X-Forwarded-For to spread rate limits). */
  extraHeaders?: () => Record<string, string>;
  seed?: number;
}

export class ContractChecker {
  readonly #ajv = new Ajv2020({ strict: false, allErrors: false, validateFormats: true });
  readonly #validators = new Map<string, ValidateFunction>();
  readonly #docId: string;
  readonly #ctx: SchemaContext;
  private readonly options: ContractOptions;

  constructor(options: ContractOptions) {
    this.options = options;
    addFormats(this.#ajv);
    this.#docId = `https://contract.test/${options.service}/${randomUUID()}.json`;
    this.#ajv.addSchema({ ...options.doc, $id: this.#docId } as Json);
    this.#ctx = {
      resolve: (ref) => {
        const target = resolvePointer(options.doc, ref);
        if (!target) throw new Error(`${options.service}: $ref ${ref} does not resolve`);
        return target as Schema;
      },
    };
  }

  #validator(pointer: string): ValidateFunction {
    let v = this.#validators.get(pointer);
    if (!v) {
      const fragment = pointer.split('/').map(encodeURIComponent).join('/');
      v = this.#ajv.compile({ $ref: `${this.#docId}#${fragment}` });
      this.#validators.set(pointer, v);
    }
    return v;
  }

  /**
   * Ids the service handed out in earlier 2xx bodies, by field name: a path
   * or query parameter of that name (or an `id` parameter, for `…Id` fields)
   * then names something that exists, so generated requests reach past 404.
   */
  readonly #seen = new Map<string, Set<string>>();
  /** Answers by status class, for the summary. */
  readonly statuses: Record<string, number> = {};

  #harvest(value: unknown, depth = 0): void {
    if (depth > 4 || value === null || typeof value !== 'object') return;
    for (const [key, v] of Object.entries(value)) {
      if (typeof v === 'string' && v.length > 0 && v.length <= 100) {
        const set = this.#seen.get(key) ?? new Set<string>();
        if (set.size < 30) set.add(v);
        this.#seen.set(key, set);
      } else {
        this.#harvest(v, depth + 1);
      }
    }
  }

  #withSeen(name: string, generated: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
    const seen = [...(this.#seen.get(name) ?? [])];
    if (name === 'id') for (const [key, values] of this.#seen) if (key.endsWith('Id')) seen.push(...values);
    return seen.length === 0 ? generated : fc.oneof({ weight: 1, arbitrary: generated }, { weight: 2, arbitrary: fc.constantFrom(...seen) });
  }

  #requestArbitrary(operation: Operation): fc.Arbitrary<GeneratedRequest> {
    const parameters = ((operation.op.parameters ?? []) as Parameter[]).filter((p) => ['path', 'query', 'header'].includes(p.in));
    const part = (where: Parameter['in']) =>
      fc.record(
        Object.fromEntries(parameters.filter((p) => p.in === where).map((p) => [p.name, where === 'header' ? valid(p.schema ?? { type: 'string' }, this.#ctx) : this.#withSeen(p.name, nearValid(p.schema ?? { type: 'string' }, this.#ctx))])),
        { requiredKeys: parameters.filter((p) => p.in === where && (p.required || where === 'path')).map((p) => p.name) },
      );
    const headerPart = part('header').chain((h) =>
      // Near-valid headers: sometimes one required header is left out.
      fc.oneof({ weight: 4, arbitrary: fc.constant(h) }, { weight: 1, arbitrary: fc.constantFrom(...Object.keys(h), '').map((drop) => Object.fromEntries(Object.entries(h).filter(([k]) => k !== drop))) }),
    );
    const content = ((operation.op.requestBody as Json | undefined)?.content ?? {}) as Record<string, { schema?: Schema }>;
    const bodySchema = content['application/json']?.schema;
    const required = (operation.op.requestBody as Json | undefined)?.required === true;
    const body = bodySchema ? fc.oneof({ weight: 9, arbitrary: nearValid(bodySchema, this.#ctx) }, { weight: required ? 0 : 1, arbitrary: fc.constant(undefined) }) : fc.constant(undefined);
    const secured = Array.isArray(operation.op.security) && (operation.op.security as unknown[]).length > 0;
    return fc.record({
      params: part('path'),
      query: part('query'),
      headers: headerPart.map((h) => Object.fromEntries(Object.entries(h).filter(([, v]) => typeof v === 'string' && HEADER_SAFE.test(v)))) as fc.Arbitrary<Record<string, string>>,
      body,
      sendBody: fc.constant(bodySchema !== undefined),
      auth: secured ? fc.constantFrom<GeneratedRequest['auth']>('valid', 'valid', 'valid', 'valid', 'none', 'garbage') : fc.constant<GeneratedRequest['auth']>('none'),
    });
  }

  async #send(operation: Operation, r: GeneratedRequest): Promise<Violation | undefined> {
    // A `.` or `..` segment is removed by URL normalisation; the documents exclude them, mutations may not.
    const segment = (v: unknown): string => {
      const encoded = encodeURIComponent(toQueryValue(v ?? 'x'));
      return encoded === '' || encoded === '.' || encoded === '..' ? 'x' : encoded;
    };
    const path = operation.path.replace(/\{([^}]+)\}/g, (_m, name: string) => segment(r.params[name]));
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(r.query)) if (v !== undefined) qs.append(k, toQueryValue(v));
    const url = `${this.options.baseUrl}${path}${qs.size > 0 ? `?${qs}` : ''}`;
    const headers: Record<string, string> = { ...this.options.extraHeaders?.(), ...r.headers };
    if (r.auth === 'garbage') headers.authorization = 'Bearer not.a.token';
    if (r.auth === 'valid' && this.options.token) {
      const roles = ((operation.op.security as Record<string, string[]>[])[0] ?? {}).bearerAuth ?? [];
      headers.authorization = `Bearer ${await this.options.token(roles)}`;
    }
    let body: string | undefined;
    if (r.sendBody && r.body !== undefined) {
      body = serializeJson(r.body);
      headers['content-type'] = 'application/json';
    }
    const request = { method: operation.method.toUpperCase(), url, headers, ...(body === undefined ? {} : { body: body.length > 2000 ? `${body.slice(0, 2000)}…` : body }) };
    const send = () => fetch(url, { method: request.method, headers, body, signal: AbortSignal.timeout(15_000) });
    let res: Response;
    try {
      res = await send().catch(async (err: unknown) => {
        // A kept-alive connection the server closed as the request went out (no answer at all): sent again once on a
        // new connection, as HTTP clients do, and counted in the summary; a second failure, or any other, is reported.
        if (!CONNECTION_LOST.has(causeCode(err))) throw err;
        this.statuses['resent after a lost connection'] = (this.statuses['resent after a lost connection'] ?? 0) + 1;
        return send();
      });
    } catch (err) {
      const code = causeCode(err);
      return { service: this.options.service, operation: `${request.method} ${operation.path}`, status: 0, problem: `request failed: ${(err as Error).message}${code ? ` (${code})` : ''}`, request, response: '' };
    }
    const text = await res.text();
    const statusClass = `${Math.floor(res.status / 100)}xx`;
    this.statuses[statusClass] = (this.statuses[statusClass] ?? 0) + 1;
    const violation = (problem: string): Violation => ({ service: this.options.service, operation: `${request.method} ${operation.path}`, status: res.status, problem, request, response: text.slice(0, 1000) });
    if (res.status >= 500) return violation('5xx');
    const responses = operation.op.responses as Record<string, Json>;
    const declared = responses[String(res.status)];
    if (!declared) return violation(`status ${res.status} is not documented (documented: ${Object.keys(responses).join(', ')})`);
    const media = (declared.content ?? {}) as Record<string, unknown>;
    const mediaTypes = Object.keys(media);
    if (mediaTypes.length === 0) return text.length === 0 || request.method === 'HEAD' ? undefined : violation('a body where the document declares none');
    const type = (res.headers.get('content-type') ?? '').split(';')[0]!.trim();
    if (!mediaTypes.includes(type)) return violation(`content-type ${type || '(none)'} is not documented for ${res.status} (${mediaTypes.join(', ')})`);
    const jsonLines = JSON_LINES.has(type);
    if (!jsonLines && !isJsonType(type)) return undefined; // a text format (CSV): documented as a string, nothing more to check
    const validate = this.#validator(`/${operation.pointer.slice(1)}/responses/${res.status}/content/${escapePointer(type)}/schema`);
    for (const value of jsonLines ? text.split('\n').filter((line) => line.length > 0) : [text]) {
      let json: unknown;
      try {
        json = JSON.parse(value);
      } catch {
        return violation(jsonLines ? 'a line of the body is not JSON' : 'the body is not JSON');
      }
      if (!validate(json)) return violation(`the body breaks its schema: ${this.#ajv.errorsText(validate.errors)}`);
      if (res.status < 300) this.#harvest(json);
    }
    return undefined;
  }

  /** Runs `numRuns` generated requests per operation; returns the violations (at most one per operation). */
  async check(filter: (operation: Operation) => boolean = () => true): Promise<{ operations: number; requests: number; violations: Violation[] }> {
    const violations: Violation[] = [];
    let requests = 0;
    // Creators first (fewer path parameters, writes before reads), so later operations can use what they made.
    const rank = (o: Operation): number => (o.path.match(/\{/g)?.length ?? 0) * 2 + (o.method === 'get' || o.method === 'delete' ? 1 : 0);
    const operations = operationsOf(this.options.doc)
      .filter(filter)
      .sort((a, b) => rank(a) - rank(b));
    for (const operation of operations) {
      let found: Violation | undefined;
      const details = await fc.check(
        fc.asyncProperty(this.#requestArbitrary(operation), async (r) => {
          requests++;
          found = await this.#send(operation, r);
          return found === undefined;
        }),
        { numRuns: this.options.numRuns, endOnFailure: true, seed: this.options.seed },
      );
      if (found) violations.push({ ...found, problem: `${found.problem} (fast-check seed ${details.seed})` });
      else if (details.failed || details.numRuns < this.options.numRuns) {
        const reason = details.errorInstance instanceof Error ? (details.errorInstance.stack ?? details.errorInstance.message).split('\n').slice(0, 4).join(' | ') : `${details.numRuns} of ${this.options.numRuns} runs, ${details.numSkips} skipped`;
        violations.push({ service: this.options.service, operation: `${operation.method.toUpperCase()} ${operation.path}`, status: 0, problem: `the generator failed: ${reason}`, request: { method: operation.method.toUpperCase(), url: '', headers: {} }, response: '' });
      }
    }
    return { operations: operations.length, requests, violations };
  }
}
