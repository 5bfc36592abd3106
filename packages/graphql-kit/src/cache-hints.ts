/**
 * Field-level cache hints for a subgraph, and the policy of one operation
 * computed from them the way Apollo's cache-control plugin does: root fields
 * and fields that return an object (or a list, interface or union of them)
 * cap the policy at their hint, or at 0 when they have none; scalar fields
 * inherit; the policy is the smallest maxAge met, PRIVATE when any hint is.
 * A federation `_entities` call is capped by the hints of the entity types it
 * asks for (its inline fragments), 0 for a type without one.
 *
 * The subgraph answers the policy as a `Cache-Control` header, which Apollo
 * Gateway folds into the federated operation's policy
 * (`honorSubgraphCacheControlHeader`), so the federated response carries the
 * smallest hint over every subgraph it touched, and apps/graphql's response
 * cache (packages/cache) keeps it that long.
 */
import {
  getNamedType,
  isCompositeType,
  isObjectType,
  Kind,
  TypeInfo,
  visit,
  visitWithTypeInfo,
  type ASTNode,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
} from 'graphql';

export type CacheScope = 'PUBLIC' | 'PRIVATE';

export interface CacheHint {
  /** Seconds. */
  maxAge: number;
  /** PRIVATE: per user (only a per-user cache may keep it). Default PUBLIC. */
  scope?: CacheScope;
}

/** Hints by type (`Product`) or by field (`Product.reviews`); a field's own hint wins over its type's. */
export type CacheHints = Readonly<Record<string, CacheHint>>;

export interface CachePolicy {
  maxAge: number;
  scope: CacheScope;
}

const ROOT_TYPES = new Set(['Query', 'Mutation', 'Subscription']);

/** The policy of `operationName` (or the only operation) in `document`; maxAge 0 means "do not cache". */
export function cachePolicyOf(schema: GraphQLSchema, document: DocumentNode, hints: CacheHints, operationName?: string | null): CachePolicy {
  let maxAge = Number.POSITIVE_INFINITY;
  let scope: CacheScope = 'PUBLIC';
  let mutation = false;
  let entitiesDepth = 0;
  const restrict = (hint: CacheHint | undefined): void => {
    maxAge = Math.min(maxAge, hint?.maxAge ?? 0);
    if (hint?.scope === 'PRIVATE') scope = 'PRIVATE';
  };
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const def of document.definitions) if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
  /** An entity type asked for under `_entities` caps at its type's hint. */
  const entityType = (typeName: string | undefined): void => {
    if (entitiesDepth === 0 || !typeName) return;
    const type = schema.getType(typeName);
    if (type && isObjectType(type)) restrict(hints[type.name]);
  };

  const walk = (node: ASTNode, spreading: ReadonlySet<string>): void => {
    const typeInfo = new TypeInfo(schema);
    visit(
      node,
      visitWithTypeInfo(typeInfo, {
        OperationDefinition(op) {
          // Another operation of the document: not part of this request.
          if (operationName && op.name?.value !== operationName) return false;
          if (op.operation !== 'query') mutation = true;
          return undefined;
        },
        // Reached through their spreads, where they apply.
        FragmentDefinition: (def) => (def === node ? undefined : false),
        FragmentSpread(spread) {
          const def = fragments.get(spread.name.value);
          if (!def || spreading.has(def.name.value)) return;
          entityType(def.typeCondition.name.value);
          walk(def, new Set([...spreading, def.name.value]));
        },
        InlineFragment(fragment) {
          entityType(fragment.typeCondition?.name.value);
        },
        Field: {
          enter(field) {
            const parent = typeInfo.getParentType();
            const type = typeInfo.getType();
            const name = field.name.value;
            if (!parent || !type || name === '__typename') return;
            const root = ROOT_TYPES.has(parent.name);
            if (root && name === '_entities') {
              entitiesDepth++;
              return;
            }
            if (root && name === '_service') return;
            const own = hints[`${parent.name}.${name}`];
            const named = getNamedType(type);
            if (own) restrict(own);
            else if (root || isCompositeType(named)) restrict(hints[named.name]);
          },
          leave(field) {
            if (field.name.value === '_entities' && ROOT_TYPES.has(typeInfo.getParentType()?.name ?? '')) entitiesDepth--;
          },
        },
      }),
    );
  };
  walk(document, new Set());
  if (mutation || !Number.isFinite(maxAge)) return { maxAge: 0, scope };
  return { maxAge, scope };
}

/** The Cache-Control header value for a policy, or undefined when it must not be cached. */
export function cacheControlHeader(policy: CachePolicy): string | undefined {
  if (policy.maxAge <= 0) return undefined;
  return `max-age=${policy.maxAge}, ${policy.scope === 'PRIVATE' ? 'private' : 'public'}`;
}

/** Fails on a hint that names a type or field the schema does not have (a renamed field must not silently lose its hint). */
export function checkCacheHints(schema: GraphQLSchema, hints: CacheHints): void {
  for (const [key, hint] of Object.entries(hints)) {
    const [typeName, fieldName] = key.split('.');
    const type = schema.getType(typeName!);
    if (!type) throw new Error(`cache hint ${key}: no type ${typeName}`);
    if (fieldName !== undefined && !(isObjectType(type) && fieldName in type.getFields())) throw new Error(`cache hint ${key}: ${typeName} has no field ${fieldName}`);
    if (!Number.isInteger(hint.maxAge) || hint.maxAge < 0) throw new Error(`cache hint ${key}: maxAge must be a non-negative integer`);
  }
}
