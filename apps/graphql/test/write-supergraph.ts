/**
 * Writes apps/graphql/supergraph.graphql from the three subgraphs' type
 * definitions (`npm run compose -w apps/graphql`); the supergraph test fails
 * when the file and the running composition differ. Subgraph URLs in the file
 * are the local defaults; the gateway overrides them from its config.
 */
import { writeFileSync } from 'node:fs';
import { printSubgraphSchema } from '@apollo/subgraph';
import { createCatalogSchema } from '../../catalog/src/graphql/subgraph.ts';
import { createIdentitySchema } from '../../identity/src/graphql/subgraph.ts';
import { createOrdersSchema } from '../../orders/src/graphql/subgraph.ts';
import { composeSupergraph } from '../src/compose.ts';
import { SUPERGRAPH_FILE } from '../src/gateway.ts';

export const LOCAL_SUBGRAPH_URLS = { identity: 'http://127.0.0.1:8081/graphql', catalog: 'http://127.0.0.1:8087/graphql', orders: 'http://127.0.0.1:8082/graphql' } as const;

export function supergraphFromSource(): string {
  return composeSupergraph([
    { name: 'identity', url: LOCAL_SUBGRAPH_URLS.identity, sdl: printSubgraphSchema(createIdentitySchema()) },
    { name: 'catalog', url: LOCAL_SUBGRAPH_URLS.catalog, sdl: printSubgraphSchema(createCatalogSchema()) },
    { name: 'orders', url: LOCAL_SUBGRAPH_URLS.orders, sdl: printSubgraphSchema(createOrdersSchema()) },
  ]);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  writeFileSync(SUPERGRAPH_FILE, supergraphFromSource());
  console.log(`wrote ${SUPERGRAPH_FILE}`);
}
