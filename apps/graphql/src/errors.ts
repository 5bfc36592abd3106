/**
 * Error codes of the GraphQL gateway's HTTP layer, registered once at import
 * (GraphQL errors themselves travel in the response's `errors`, with codes
 * such as GRAPHQL_QUERY_TOO_DEEP in their extensions).
 */
import { AppError, registerErrorCodes, type ErrorCodeInfo } from '@bulwark/errors';

export const GRAPHQL_ERROR_CODES = [
  { code: 'GRAPHQL_NOT_READY', status: 503, title: 'GraphQL not ready', description: 'The gateway has not loaded its supergraph yet (starting); retry shortly.' },
] as const satisfies readonly ErrorCodeInfo[];

registerErrorCodes(GRAPHQL_ERROR_CODES);

export type GraphqlErrorCode = (typeof GRAPHQL_ERROR_CODES)[number]['code'];

export function graphqlError(code: GraphqlErrorCode, detail: string): AppError {
  return new AppError(code, detail, { status: GRAPHQL_ERROR_CODES.find((c) => c.code === code)!.status });
}
