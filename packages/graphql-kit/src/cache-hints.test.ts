import { describe, expect, test } from '@jest/globals';
import { buildSchema, parse } from 'graphql';
import { cacheControlHeader, cachePolicyOf, checkCacheHints, type CacheHints } from './cache-hints.ts';

const schema = buildSchema(`
  type Query { product(id: ID!): Product, me: Account, _entities(representations: [String!]!): [_Entity]!, _service: Service! }
  type Mutation { rename(id: ID!): Product }
  type Service { sdl: String }
  union _Entity = Product | Variant
  type Product { id: ID!, name: String!, variants: [Variant!]!, reviews: [Review!]! }
  type Variant { sku: String!, price: Int! }
  type Review { rating: Int! }
  type Account { id: ID!, email: String! }
`);

const hints: CacheHints = {
  'Query.product': { maxAge: 300 },
  Product: { maxAge: 300 },
  Variant: { maxAge: 60 },
  'Product.reviews': { maxAge: 30 },
  Account: { maxAge: 120, scope: 'PRIVATE' },
};

const policy = (query: string, operationName?: string) => cachePolicyOf(schema, parse(query), hints, operationName);

describe('cachePolicyOf', () => {
  test('when only scalars of a hinted root field are asked, then the root hint is the policy', () => {
    expect(policy('{ product(id: "1") { id name } }')).toEqual({ maxAge: 300, scope: 'PUBLIC' });
  });

  test('when nested objects are asked, then the smallest hint met wins (a field hint over its type)', () => {
    expect(policy('{ product(id: "1") { variants { sku } } }')).toEqual({ maxAge: 60, scope: 'PUBLIC' });
    expect(policy('{ product(id: "1") { variants { sku } reviews { rating } } }')).toEqual({ maxAge: 30, scope: 'PUBLIC' });
  });

  test('when any hint met is private, then the policy is private', () => {
    expect(policy('{ me { email } }')).toEqual({ maxAge: 120, scope: 'PRIVATE' });
    expect(policy('{ me { id } product(id: "1") { name } }')).toEqual({ maxAge: 120, scope: 'PRIVATE' });
  });

  test('when a root field or an object field has no hint, then nothing is cached', () => {
    const bare = buildSchema('type Query { a: A, n: Int } type A { b: B, x: Int } type B { y: Int }');
    expect(cachePolicyOf(bare, parse('{ n }'), {})).toEqual({ maxAge: 0, scope: 'PUBLIC' });
    expect(cachePolicyOf(bare, parse('{ a { b { y } } }'), { 'Query.a': { maxAge: 10 } })).toEqual({ maxAge: 0, scope: 'PUBLIC' });
    expect(cachePolicyOf(bare, parse('{ a { b { y } } }'), { 'Query.a': { maxAge: 10 }, B: { maxAge: 5 } })).toEqual({ maxAge: 5, scope: 'PUBLIC' });
  });

  test('when the gateway asks for entities, then the entity types asked for cap the policy (inline fragments and named ones)', () => {
    expect(policy('query($r: [String!]!) { _entities(representations: $r) { ... on Product { name } } }')).toEqual({ maxAge: 300, scope: 'PUBLIC' });
    expect(policy('query($r: [String!]!) { _entities(representations: $r) { ... on Product { name } ... on Variant { price } } }')).toEqual({ maxAge: 60, scope: 'PUBLIC' });
    expect(policy('query($r: [String!]!) { _entities(representations: $r) { ...P } } fragment P on Product { name reviews { rating } }')).toEqual({ maxAge: 30, scope: 'PUBLIC' });
  });

  test('when a named fragment is spread, then its fields count; an unused fragment does not', () => {
    expect(policy('{ product(id: "1") { ...F } } fragment F on Product { reviews { rating } }')).toEqual({ maxAge: 30, scope: 'PUBLIC' });
    expect(policy('{ product(id: "1") { name } } fragment Unused on Product { reviews { rating } }')).toEqual({ maxAge: 300, scope: 'PUBLIC' });
  });

  test('when the document has several operations, then only the named one counts', () => {
    expect(policy('query A { product(id: "1") { name } } query B { me { id } }', 'A')).toEqual({ maxAge: 300, scope: 'PUBLIC' });
  });

  test('when the operation is a mutation, then nothing is cached', () => {
    expect(policy('mutation { rename(id: "1") { name } }').maxAge).toBe(0);
  });
});

describe('cacheControlHeader and checkCacheHints', () => {
  test('when a policy has a maxAge, then the header says it with the scope; 0 gives no header', () => {
    expect(cacheControlHeader({ maxAge: 60, scope: 'PUBLIC' })).toBe('max-age=60, public');
    expect(cacheControlHeader({ maxAge: 60, scope: 'PRIVATE' })).toBe('max-age=60, private');
    expect(cacheControlHeader({ maxAge: 0, scope: 'PUBLIC' })).toBeUndefined();
  });

  test('when a hint names a missing type or field, then it is refused', () => {
    expect(() => checkCacheHints(schema, hints)).not.toThrow();
    expect(() => checkCacheHints(schema, { Nope: { maxAge: 1 } })).toThrow(/no type Nope/);
    expect(() => checkCacheHints(schema, { 'Product.gone': { maxAge: 1 } })).toThrow(/no field gone/);
    expect(() => checkCacheHints(schema, { Product: { maxAge: -1 } })).toThrow(/non-negative/);
  });
});
