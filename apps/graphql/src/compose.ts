/**
 * Composition of the subgraphs into the supergraph (Apollo Federation 2):
 * used to write the checked-in supergraph.graphql and by the test that holds
 * it equal to what the running subgraphs compose to. Composition errors
 * (conflicting types, unresolvable fields) throw with every message.
 */
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';

export interface SubgraphSdl {
  name: string;
  url: string;
  sdl: string;
}

/** The subgraphs, by the names the gateway's config knows them by. */
export const SUBGRAPH_NAMES = ['identity', 'catalog', 'orders'] as const;

export function composeSupergraph(subgraphs: readonly SubgraphSdl[]): string {
  const result = composeServices(subgraphs.map((s) => ({ name: s.name, url: s.url, typeDefs: parse(s.sdl) })));
  if (result.errors) throw new Error(`composition failed:\n${result.errors.map((e) => `  ${e.message}`).join('\n')}`);
  return `${result.supergraphSdl.trimEnd()}\n`;
}

/** A running subgraph's SDL, as the federation spec serves it (`{ _service { sdl } }`). */
export async function fetchSubgraphSdl(url: string, headers: Record<string, string> = {}): Promise<string> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query: '{ _service { sdl } }' }), signal: AbortSignal.timeout(5_000) });
  const body = (await res.json()) as { data?: { _service?: { sdl?: string } }; errors?: unknown };
  const sdl = body.data?._service?.sdl;
  if (!res.ok || !sdl) throw new Error(`${url} served no subgraph SDL (${res.status}): ${JSON.stringify(body.errors ?? body)}`);
  return sdl;
}
