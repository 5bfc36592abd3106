/**
 * Error codes of GraphQL endpoints (gateway and subgraphs), registered once
 * at import. An operation refused before execution is a 400 problem+json
 * whose `errors` member carries the GraphQL errors, so GraphQL clients read
 * it as they read any `errors`.
 */
import { AppError, registerErrorCodes, type ErrorCodeInfo } from '@bulwark/errors';
import type { GraphQLError } from 'graphql';
import { QUERY_TOO_COSTLY, QUERY_TOO_DEEP } from './limits.ts';

export const GRAPHQL_ERROR_CODES = [
  { code: 'GRAPHQL_INVALID_OPERATION', status: 400, title: 'Invalid GraphQL operation', description: 'The operation does not parse or does not validate against the schema; `errors` lists the GraphQL errors. Nothing was executed.' },
  { code: QUERY_TOO_DEEP, status: 400, title: 'GraphQL query too deep', description: 'The operation nests deeper than the limit (`errors[0].extensions`: depth, maxDepth). Nothing was executed.' },
  { code: QUERY_TOO_COSTLY, status: 400, title: 'GraphQL query too costly', description: 'The operation could fetch more than the cost limit: fields times the list sizes above them (`errors[0].extensions`: cost, maxCost). Nothing was executed.' },
] as const satisfies readonly ErrorCodeInfo[];

registerErrorCodes(GRAPHQL_ERROR_CODES);

/** The codes a GraphQL route may answer with (for its `errors` declaration). */
export const GRAPHQL_REFUSAL_CODES: readonly string[] = GRAPHQL_ERROR_CODES.map((c) => c.code);

/** A refusal before execution: the first error's limit code if it has one, else GRAPHQL_INVALID_OPERATION. */
export function refusedOperation(errors: readonly (GraphQLError | { message: string; extensions?: Record<string, unknown> })[]): AppError {
  const codes = errors.map((e) => e.extensions?.code);
  const code = codes.includes(QUERY_TOO_DEEP) ? QUERY_TOO_DEEP : codes.includes(QUERY_TOO_COSTLY) ? QUERY_TOO_COSTLY : 'GRAPHQL_INVALID_OPERATION';
  const formatted = errors.map((e) => ('toJSON' in e && typeof e.toJSON === 'function' ? e.toJSON() : e));
  return new AppError(code, errors.map((e) => e.message).join('; '), { status: 400, extensions: { errors: formatted } });
}
