/**
 * Typed route declarations. A route declares its method, path, summary and zod
 * schemas for params, query, body and each response; the same declaration
 * drives request validation (here) and the OpenAPI document (openapi.ts), so
 * the two cannot drift. Handlers return `{ status, body }`, typed against the
 * declared responses.
 */
import type { Request, RequestHandler, Response } from 'express';
import { z } from 'zod';
import type { Logger } from 'pino';
import { kitError } from './errors.ts';
import { DEFAULT_MAX_DEPTH, inspectInput, tooDeepError } from './input-guard.ts';
import type { HttpMethod } from './route-table.ts';
import type { AppError } from '@bulwark/errors';
import type { HeaderParameter } from './openapi.ts';

/** Response schemas by status; `null` means no body (e.g. 204). */
export type ResponseSchemas = { [status: number]: z.ZodType | null };

type Infer<S> = S extends z.ZodType ? z.output<S> : undefined;

/** What a handler returns: one of the declared statuses with a body of its schema. */
export type RouteResult<R extends ResponseSchemas> = {
  [K in keyof R & number]: R[K] extends z.ZodType
    ? { status: K; body: z.output<R[K]>; headers?: Record<string, string> }
    : { status: K; body?: undefined; headers?: Record<string, string> };
}[keyof R & number];

export interface RouteContext<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  /** Child logger carrying request id, trace id and span id; created on first use. */
  readonly log: Logger;
  readonly requestId: string;
  readonly traceId: string;
  /** Aborted when the client goes away before the response is sent; created on first use. */
  readonly signal: AbortSignal;
  req: Request;
  res: Response;
}

export interface RouteSpec<
  P extends z.ZodObject | undefined,
  Q extends z.ZodObject | undefined,
  B extends z.ZodType | undefined,
  R extends ResponseSchemas,
> {
  summary: string;
  description?: string;
  operationId?: string;
  tags?: string[];
  /** Schema of the `:params` of the path; every path parameter must be declared. */
  params?: P;
  /** Schema of the query string (values arrive as strings: use z.coerce for numbers). */
  query?: Q;
  /** Schema of the JSON body; declaring it makes the route accept `application/json` only. */
  body?: B;
  responses: R;
  /** Request headers the operation reads (documented in /openapi.json; not validated by the kit). */
  headers?: readonly HeaderParameter[];
  /**
   * Registered error codes (@bulwark/errors) the handler may answer with;
   * /openapi.json documents each one under its status. The kit's own codes
   * (validation, body reading) and those of contract-carrying middleware are
   * added without being listed here.
   */
  errors?: readonly string[];
  /**
   * A body the handler reads itself (e.g. a signed webhook verified over the
   * raw bytes): documented in /openapi.json, neither parsed nor validated by
   * the kit. Exclusive with `body`.
   */
  rawBody?: { schema: z.ZodType; contentType?: string };
  /**
   * Media types the success bodies are served as (default
   * `application/json`), for a handler or middleware that streams them
   * itself. A JSON-lines type (`application/x-ndjson`, `application/jsonl`)
   * is documented with the response schema as the schema of each line; any
   * other non-JSON type (e.g. `text/csv`) as a string.
   */
  produces?: readonly string[];
  /**
   * Express handlers run after the request is parsed and validated, before
   * `handler` (e.g. an Idempotency-Key middleware). One may answer the
   * request itself instead of calling next(); `next(err)` is a problem.
   */
  middleware?: readonly RequestHandler[];
  handler(ctx: RouteContext<Infer<NoInfer<P>>, Infer<NoInfer<Q>>, Infer<NoInfer<B>>>): Promise<RouteResult<NoInfer<R>>> | RouteResult<NoInfer<R>>;
}

export interface RouteDefinition<
  P extends z.ZodObject | undefined = z.ZodObject | undefined,
  Q extends z.ZodObject | undefined = z.ZodObject | undefined,
  B extends z.ZodType | undefined = z.ZodType | undefined,
  R extends ResponseSchemas = ResponseSchemas,
> extends RouteSpec<P, Q, B, R> {
  method: HttpMethod;
  /** Express-style template with literal and `:name` segments only, e.g. `/orders/:id`. */
  path: string;
}

/** Registers routes; handed to `createService({ routes })`. */
export interface RouteRegistrar {
  route<P extends z.ZodObject | undefined = undefined, Q extends z.ZodObject | undefined = undefined, B extends z.ZodType | undefined = undefined, R extends ResponseSchemas = ResponseSchemas>(
    definition: RouteDefinition<P, Q, B, R>,
  ): void;
  get<P extends z.ZodObject | undefined = undefined, Q extends z.ZodObject | undefined = undefined, R extends ResponseSchemas = ResponseSchemas>(path: string, spec: RouteSpec<P, Q, undefined, R>): void;
  post<P extends z.ZodObject | undefined = undefined, Q extends z.ZodObject | undefined = undefined, B extends z.ZodType | undefined = undefined, R extends ResponseSchemas = ResponseSchemas>(path: string, spec: RouteSpec<P, Q, B, R>): void;
  put<P extends z.ZodObject | undefined = undefined, Q extends z.ZodObject | undefined = undefined, B extends z.ZodType | undefined = undefined, R extends ResponseSchemas = ResponseSchemas>(path: string, spec: RouteSpec<P, Q, B, R>): void;
  patch<P extends z.ZodObject | undefined = undefined, Q extends z.ZodObject | undefined = undefined, B extends z.ZodType | undefined = undefined, R extends ResponseSchemas = ResponseSchemas>(path: string, spec: RouteSpec<P, Q, B, R>): void;
  delete<P extends z.ZodObject | undefined = undefined, Q extends z.ZodObject | undefined = undefined, R extends ResponseSchemas = ResponseSchemas>(path: string, spec: RouteSpec<P, Q, undefined, R>): void;
}

export interface ValidationIssue {
  /** Which part of the request: `params`, `query` or `body`. */
  in: 'params' | 'query' | 'body';
  /** Dotted path inside that part; empty for the part as a whole. */
  path: string;
  message: string;
}

/** Flattens zod issues of one request part into the problem's `issues` list. */
export function toValidationIssues(where: ValidationIssue['in'], error: z.ZodError): ValidationIssue[] {
  return error.issues.map((issue) => ({ in: where, path: issue.path.map(String).join('.'), message: issue.message }));
}

export interface ValidatedInput {
  params: unknown;
  query: unknown;
  body: unknown;
}

/**
 * Validates every declared part and reports all issues at once (400: the
 * request does not match the contract). 422 is left to domain code for
 * well-formed requests that break a business rule. Before its schema, each
 * part passes the edge check (input-guard.ts): nesting deeper than
 * `maxDepth` is 400 JSON_TOO_DEEP at once, a string with U+0000 or an
 * unpaired surrogate is an issue at its path, whatever the schema allows.
 */
export function validateRequest(definition: RouteDefinition, raw: ValidatedInput, maxDepth: number = DEFAULT_MAX_DEPTH): { ok: true; value: ValidatedInput } | { ok: false; error: AppError } {
  const value: ValidatedInput = { params: undefined, query: undefined, body: undefined };
  let issues: ValidationIssue[] | undefined;
  for (const part of ['params', 'query', 'body'] as const) {
    const schema = definition[part];
    if (!schema) continue;
    const input = raw[part];
    const finding = inspectInput(input, maxDepth);
    if (finding?.tooDeep) {
      return { ok: false, error: tooDeepError(part, maxDepth) };
    }
    const result = schema.safeParse(input);
    if (finding) {
      const refused = finding.strings.map((s) => ({ in: part, path: s.path, message: s.message }));
      (issues ??= []).push(...refused);
      if (!result.success) issues.push(...toValidationIssues(part, result.error).filter((i) => !refused.some((r) => r.path === i.path)));
    } else if (result.success) value[part] = result.data;
    else (issues ??= []).push(...toValidationIssues(part, result.error));
  }
  if (issues) return { ok: false, error: kitError('REQUEST_VALIDATION_FAILED', `The request has ${issues.length} invalid field${issues.length === 1 ? '' : 's'}.`, { extensions: { issues } }) };
  return { ok: true, value };
}
