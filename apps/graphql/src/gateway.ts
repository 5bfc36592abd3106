/**
 * The federation gateway: Apollo Gateway over the checked-in supergraph
 * (composed from the three subgraphs' SDL by compose.ts, so what runs is what
 * was reviewed), each subgraph reached at its configured URL with the
 * caller's verified identity (x-auth-*), request id and trace context.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ApolloGateway, RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';

export const SUPERGRAPH_FILE = fileURLToPath(new URL('../supergraph.graphql', import.meta.url));

/** What the gateway passes on to every subgraph call of one request. */
export interface GatewayContext {
  forward: Record<string, string>;
}

/** Headers of the incoming request a subgraph must see: the principal the HTTP gateway verified, the request id, the trace. */
export const FORWARDED_HEADERS = ['x-auth-sub', 'x-auth-roles', 'x-auth-tenant', 'x-auth-scopes', 'x-request-id'] as const;

export interface SubgraphUrls {
  identity: string;
  catalog: string;
  orders: string;
}

class ForwardingDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  override willSendRequest(options: GraphQLDataSourceProcessOptions<GatewayContext>): void {
    const headers = options.request.http?.headers;
    if (!headers || !('context' in options) || !options.context.forward) return;
    for (const [name, value] of Object.entries(options.context.forward as Record<string, string>)) headers.set(name, value);
  }
}

export function createGateway(options: { urls: SubgraphUrls; supergraphPath?: string; timeoutMs: number }): ApolloGateway {
  const supergraphSdl = readFileSync(options.supergraphPath ?? SUPERGRAPH_FILE, 'utf8');
  const timedFetch: typeof fetch = (input, init) => fetch(input, { ...init, signal: AbortSignal.timeout(options.timeoutMs) });
  return new ApolloGateway({
    supergraphSdl,
    buildService({ name, url }) {
      const configured = (options.urls as unknown as Record<string, string | undefined>)[name] ?? url;
      if (!configured) throw new Error(`subgraph ${name} has no URL (supergraph names it; config does not)`);
      return new ForwardingDataSource({ url: configured, fetcher: timedFetch as never });
    },
  });
}
