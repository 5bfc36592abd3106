/**
 * Depth and cost of an operation, measured on the document before anything
 * runs. Depth counts nested selections (fragments inlined). Cost counts every
 * field once per parent item: a list field multiplies its children by its
 * `first`/`limit` argument, or by `defaultListSize` when it has none, so
 * `orders(first: 50) { items { product { reviews(first: 10) } } }` costs
 * what it could fetch. A refused operation is a validation error: nothing
 * has executed, no resolver and no subgraph has been called.
 */
import {
  getNamedType,
  getNullableType,
  GraphQLError,
  isCompositeType,
  isListType,
  isObjectType,
  isInterfaceType,
  Kind,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationRule,
} from 'graphql';

export interface QueryLimits {
  /** Deepest selection allowed (the operation's root fields are depth 1). */
  maxDepth: number;
  /** Largest cost allowed (fields times the list sizes above them). */
  maxCost: number;
  /** Items assumed for a list field without `first`/`limit` (default 10). */
  defaultListSize?: number;
}

export interface OperationMeasure {
  depth: number;
  cost: number;
}

/** Error codes in `extensions.code` of a refused operation. */
export const QUERY_TOO_DEEP = 'GRAPHQL_QUERY_TOO_DEEP';
export const QUERY_TOO_COSTLY = 'GRAPHQL_QUERY_TOO_COSTLY';

const SIZE_ARGUMENTS = new Set(['first', 'last', 'limit']);

function listSize(field: FieldNode, variables: Record<string, unknown>, fallback: number): number {
  for (const arg of field.arguments ?? []) {
    if (!SIZE_ARGUMENTS.has(arg.name.value)) continue;
    if (arg.value.kind === Kind.INT) return Number(arg.value.value);
    if (arg.value.kind === Kind.VARIABLE) {
      const v = variables[arg.value.name.value];
      if (typeof v === 'number') return v;
    }
  }
  return fallback;
}

/**
 * Measures one operation against the schema (types decide which fields are
 * lists; unknown fields, refused by the other rules, count as scalars).
 */
export function measureOperation(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
  fragments: ReadonlyMap<string, FragmentDefinitionNode>,
  options: { defaultListSize?: number; variables?: Record<string, unknown> } = {},
): OperationMeasure {
  const fallback = options.defaultListSize ?? 10;
  const variables = options.variables ?? {};
  const root = operation.operation === 'query' ? schema.getQueryType() : operation.operation === 'mutation' ? schema.getMutationType() : schema.getSubscriptionType();

  function walk(set: SelectionSetNode, parent: GraphQLCompositeType | null | undefined, depth: number, seen: ReadonlySet<string>): OperationMeasure {
    let deepest = depth;
    let cost = 0;
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        if (selection.name.value.startsWith('__')) continue;
        const def = parent && (isObjectType(parent) || isInterfaceType(parent)) ? parent.getFields()[selection.name.value] : undefined;
        let own = 1;
        if (selection.selectionSet) {
          const type = def ? getNamedType(def.type) : undefined;
          const inner = walk(selection.selectionSet, type && isCompositeType(type) ? type : undefined, depth + 1, seen);
          deepest = Math.max(deepest, inner.depth);
          const many = def && isListType(getNullableType(def.type)) ? listSize(selection, variables, fallback) : 1;
          own += many * inner.cost;
        } else deepest = Math.max(deepest, depth);
        cost += own;
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const type = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : parent;
        const inner = walk(selection.selectionSet, type && isCompositeType(type) ? type : parent, depth, seen);
        deepest = Math.max(deepest, inner.depth);
        cost += inner.cost;
      } else {
        const name = selection.name.value;
        const fragment = fragments.get(name);
        if (!fragment || seen.has(name)) continue; // cycles are refused by NoFragmentCycles
        const type = schema.getType(fragment.typeCondition.name.value);
        const inner = walk(fragment.selectionSet, type && isCompositeType(type) ? type : parent, depth, new Set([...seen, name]));
        deepest = Math.max(deepest, inner.depth);
        cost += inner.cost;
      }
    }
    return { depth: deepest, cost };
  }

  return walk(operation.selectionSet, root, 1, new Set());
}

/**
 * A validation rule refusing operations past the limits with a clear error
 * (code, measured value and limit in `extensions`). Variables are not known
 * at validation: a list sized by a variable counts as `defaultListSize`, so
 * callers that know them also call {@link assertWithinLimits}.
 */
export function queryLimitsRule(limits: QueryLimits): ValidationRule {
  return (context) => {
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const def of context.getDocument().definitions) if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
    return {
      OperationDefinition(operation) {
        const error = limitError(measureOperation(context.getSchema(), operation, fragments, { defaultListSize: limits.defaultListSize }), limits, operation);
        if (error) context.reportError(error);
      },
    };
  };
}

/** The error for a measured operation past its limits, or undefined within them. */
export function limitError(measure: OperationMeasure, limits: QueryLimits, node?: OperationDefinitionNode): GraphQLError | undefined {
  if (measure.depth > limits.maxDepth) {
    return new GraphQLError(`query depth ${measure.depth} exceeds the limit of ${limits.maxDepth}: nothing was executed`, {
      nodes: node ? [node] : undefined,
      extensions: { code: QUERY_TOO_DEEP, depth: measure.depth, maxDepth: limits.maxDepth },
    });
  }
  if (measure.cost > limits.maxCost) {
    return new GraphQLError(`query cost ${measure.cost} exceeds the limit of ${limits.maxCost} (fields times list sizes): nothing was executed`, {
      nodes: node ? [node] : undefined,
      extensions: { code: QUERY_TOO_COSTLY, cost: measure.cost, maxCost: limits.maxCost },
    });
  }
  return undefined;
}

/**
 * Limits of a subgraph: wider than the gateway's (which refuses first, on the
 * whole operation), they bound what reaches a service directly.
 */
export const SUBGRAPH_QUERY_LIMITS: QueryLimits = { maxDepth: 12, maxCost: 50_000, defaultListSize: 10 };
