/**
 * The supergraph checked in (apps/graphql/supergraph.graphql, what the
 * gateway serves) is the composition of what the three running subgraphs
 * serve as their SDL: a subgraph change without `npm run compose -w
 * apps/graphql` fails here, naming the first differing line.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { composeSupergraph, fetchSubgraphSdl } from '../src/compose.ts';
import { SUPERGRAPH_FILE } from '../src/gateway.ts';
import { startFederation, type Federation } from './support.ts';
import { LOCAL_SUBGRAPH_URLS } from './write-supergraph.ts';

let f: Federation;

beforeAll(async () => {
  f = await startFederation({ identity: true });
}, 120_000);

afterAll(async () => {
  await f?.cleanup();
});

function firstDifference(a: string, b: string): string | undefined {
  const al = a.split('\n');
  const bl = b.split('\n');
  for (let i = 0; i < Math.max(al.length, bl.length); i++) if (al[i] !== bl[i]) return `line ${i + 1}: checked in ${JSON.stringify(al[i])}, running ${JSON.stringify(bl[i])}`;
  return undefined;
}

test('when the running subgraphs are composed, then the result is the checked-in supergraph the gateway serves', async () => {
  const running = composeSupergraph([
    { name: 'identity', url: LOCAL_SUBGRAPH_URLS.identity, sdl: await fetchSubgraphSdl(`${f.identityUrl}/graphql`) },
    { name: 'catalog', url: LOCAL_SUBGRAPH_URLS.catalog, sdl: await fetchSubgraphSdl(`${f.catalogUrl}/graphql`) },
    { name: 'orders', url: LOCAL_SUBGRAPH_URLS.orders, sdl: await fetchSubgraphSdl(`${f.ordersUrl}/graphql`) },
  ]);
  const checkedIn = readFileSync(SUPERGRAPH_FILE, 'utf8');
  expect(firstDifference(checkedIn, running)).toBeUndefined();
});

test('when the gateway is introspected, then it serves every subgraph\'s root fields', async () => {
  const res = await fetch(`${f.gatewayUrl}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ __schema { queryType { fields { name } } } }' }) });
  const body = (await res.json()) as { data: { __schema: { queryType: { fields: { name: string }[] } } } };
  expect(body.data.__schema.queryType.fields.map((x) => x.name).sort()).toEqual(['me', 'order', 'orders', 'product', 'products']);
});
