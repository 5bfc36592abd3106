import { describe, expect, test } from '@jest/globals';
import { buildSchema, Kind, parse, specifiedRules, validate, type FragmentDefinitionNode, type OperationDefinitionNode } from 'graphql';
import { measureOperation, queryLimitsRule, QUERY_TOO_COSTLY, QUERY_TOO_DEEP } from './limits.ts';

const schema = buildSchema(`
  type Query { orders(first: Int): [Order!]!, order(id: ID!): Order }
  type Order { id: ID!, items: [Item!]! }
  type Item { sku: String!, product: Product! }
  type Product { name: String!, reviews(first: Int): [Review!]! }
  type Review { rating: Int! }
`);

function measure(query: string, variables: Record<string, unknown> = {}, defaultListSize = 10) {
  const doc = parse(query);
  const operation = doc.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)!;
  const fragments = new Map(doc.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]));
  return measureOperation(schema, operation, fragments, { variables, defaultListSize });
}

describe('measureOperation', () => {
  test('when fields nest, then depth counts the levels and cost multiplies by the list sizes above', () => {
    // orders(2) × [id, items(10) × [sku, product × [name, reviews(3) × rating]]]
    const m = measure('{ orders(first: 2) { id items { sku product { name reviews(first: 3) { rating } } } } }');
    expect(m.depth).toBe(5);
    // A field costs 1 plus, for a list, its size times what one item selects.
    const product = 1 + (1 + (1 + 3 * 1)); // product { name reviews(3) { rating } }
    const item = 1 + product; // sku, product
    const order = 1 + (1 + 10 * item); // id, items (no first: the default 10)
    expect(m.cost).toBe(1 + 2 * order);
  });

  test('when a list is sized by a variable, then the variable counts; unknown, the default does', () => {
    expect(measure('query($n: Int) { orders(first: $n) { id } }', { n: 50 }).cost).toBe(1 + 50);
    expect(measure('query($n: Int) { orders(first: $n) { id } }', {}, 7).cost).toBe(1 + 7);
  });

  test('when fragments and inline fragments are used, then they count as if written in place', () => {
    const plain = measure('{ order(id: "1") { items { product { name } } } }');
    const viaFragments = measure('{ order(id: "1") { ...O } } fragment O on Order { items { ... on Item { product { ...P } } } } fragment P on Product { name }');
    expect(viaFragments).toEqual(plain);
  });

  test('when introspection fields are asked, then they are free', () => {
    expect(measure('{ __typename order(id: "1") { __typename id } }')).toEqual(measure('{ order(id: "1") { id } }'));
  });
});

describe('queryLimitsRule', () => {
  test('when an operation is too deep or too costly, then validation reports the code, the measure and the limit', () => {
    const deep = validate(schema, parse('{ orders(first: 1) { items { product { reviews(first: 1) { rating } } } } }'), [...specifiedRules, queryLimitsRule({ maxDepth: 4, maxCost: 1000 })]);
    expect(deep.map((e) => e.extensions)).toEqual([{ code: QUERY_TOO_DEEP, depth: 5, maxDepth: 4 }]);
    const costly = validate(schema, parse('{ orders(first: 100) { items { sku } } }'), [...specifiedRules, queryLimitsRule({ maxDepth: 10, maxCost: 500 })]);
    expect(costly.map((e) => e.extensions.code)).toEqual([QUERY_TOO_COSTLY]);
    expect(validate(schema, parse('{ orders(first: 2) { id } }'), [queryLimitsRule({ maxDepth: 10, maxCost: 500 })])).toEqual([]);
  });
});
