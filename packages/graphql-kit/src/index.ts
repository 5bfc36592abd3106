export { measureOperation, queryLimitsRule, limitError, SUBGRAPH_QUERY_LIMITS, QUERY_TOO_DEEP, QUERY_TOO_COSTLY, type QueryLimits, type OperationMeasure } from './limits.ts';
export { registerSubgraph, type SubgraphOptions } from './subgraph.ts';
export { batchLoader, unbatchedLoader, type DataLoader } from './loaders.ts';
export { GRAPHQL_ERROR_CODES, GRAPHQL_REFUSAL_CODES, refusedOperation } from './errors.ts';
export { cachePolicyOf, cacheControlHeader, checkCacheHints, type CacheHint, type CacheHints, type CachePolicy, type CacheScope } from './cache-hints.ts';
