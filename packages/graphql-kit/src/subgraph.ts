/**
 * A service's subgraph endpoint: POST /graphql on the service kit's routes,
 * so it runs in the same request scope as the REST routes (the tenant the
 * gateway verified in x-auth-tenant, query tracking, logs, metrics). Parse
 * and validation errors (depth and cost limits included) answer 400
 * problem+json carrying the GraphQL errors before any resolver runs; an
 * executed operation answers 200.
 */
import type { Request } from 'express';
import { execute, GraphQLError, parse, specifiedRules, validate, type DocumentNode, type GraphQLSchema } from 'graphql';
import { z } from 'zod';
import type { RouteRegistrar } from '@bulwark/service-kit';
import { cacheControlHeader, cachePolicyOf, checkCacheHints, type CacheHints } from './cache-hints.ts';
import { GRAPHQL_REFUSAL_CODES, refusedOperation } from './errors.ts';
import { queryLimitsRule, type QueryLimits } from './limits.ts';

export interface SubgraphOptions<C> {
  schema: GraphQLSchema;
  /** A fresh context per request (its DataLoaders, the principal). */
  context(req: Request): C;
  limits: QueryLimits;
  path?: string;
  /**
   * Field-level cache hints (cache-hints.ts). An operation without errors
   * answers its policy as Cache-Control, which the federation gateway folds
   * into the federated response's. Without hints nothing is cacheable.
   */
  cacheHints?: CacheHints;
}

const GraphQLRequest = z.object({
  query: z.string().min(1).max(100_000),
  operationName: z.string().max(200).nullish(),
  variables: z.record(z.string(), z.unknown()).nullish(),
  extensions: z.record(z.string(), z.unknown()).nullish(),
});

const GraphQLResponse = z.object({
  data: z.record(z.string(), z.unknown()).nullish(),
  errors: z.array(z.record(z.string(), z.unknown())).optional(),
});

/** Parsed documents by query text: the gateway sends the same few query plans again and again. */
const DOCUMENT_CACHE_MAX = 500;

export function registerSubgraph<C>(r: RouteRegistrar, options: SubgraphOptions<C>): void {
  const rules = [...specifiedRules, queryLimitsRule(options.limits)];
  const hints = options.cacheHints ?? {};
  checkCacheHints(options.schema, hints);
  const documents = new Map<string, DocumentNode>();

  function documentOf(query: string): DocumentNode | readonly GraphQLError[] {
    const cached = documents.get(query);
    if (cached) return cached;
    let doc: DocumentNode;
    try {
      doc = parse(query);
    } catch (err) {
      return [err instanceof GraphQLError ? err : new GraphQLError(String(err))];
    }
    const errors = validate(options.schema, doc, rules);
    if (errors.length > 0) return errors;
    if (documents.size >= DOCUMENT_CACHE_MAX) documents.delete(documents.keys().next().value as string);
    documents.set(query, doc);
    return doc;
  }

  r.post(options.path ?? '/graphql', {
    summary: 'GraphQL subgraph (Apollo Federation 2): composed by apps/graphql',
    tags: ['graphql'],
    body: GraphQLRequest,
    errors: GRAPHQL_REFUSAL_CODES,
    responses: { 200: GraphQLResponse },
    handler: async ({ body, req }) => {
      const doc = documentOf(body.query);
      if (!('kind' in doc)) throw refusedOperation(doc);
      const result = await execute({
        schema: options.schema,
        document: doc,
        contextValue: options.context(req),
        variableValues: body.variables ?? undefined,
        operationName: body.operationName ?? undefined,
      });
      const cacheControl = result.errors ? undefined : cacheControlHeader(cachePolicyOf(options.schema, doc, hints, body.operationName));
      return {
        status: 200,
        body: { data: (result.data ?? null) as Record<string, unknown> | null, ...(result.errors ? { errors: result.errors.map((e) => ({ ...e.toJSON() })) } : {}) },
        ...(cacheControl ? { headers: { 'cache-control': cacheControl } } : {}),
      };
    },
  });
}
