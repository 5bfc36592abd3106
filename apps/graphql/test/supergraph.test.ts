/**
 * The supergraph checked in (apps/graphql/supergraph.graphql, what the
 * gateway serves) is the composition of what the three running subgraphs
 * serve as their SDL: a subgraph change without `npm run compose -w
 * apps/graphql` fails here, naming the first differing line. And one query
 * crossing all three: orders' customer resolved by identity, in the tenant
 * of the caller's token.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { call } from '@bulwark/test-support';
import { login, verifiedAccount } from '../../identity/test/support.ts';
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

test('when a signed-in customer asks for its orders with their customer, then identity resolves the account of its own tenant', async () => {
  const { email } = await verifiedAccount(f.identity!, f.identityUrl);
  const session = await login(f.identityUrl, email);
  expect(session.status).toBe(201);
  const token = (session.body as { accessToken: string }).accessToken;
  const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { sub: string; tenant: string };
  await f.orders.db.query(
    `INSERT INTO order_summaries (order_id, customer_id, status, items, total_cents, version, created_at, updated_at, tenant_id)
     VALUES ($1, $2, 'placed', '[]'::jsonb, 0, 1, now(), now(), $3)`,
    [randomUUID(), claims.sub, claims.tenant],
  );
  const headers = { 'x-auth-sub': claims.sub, 'x-auth-roles': 'orders', 'x-auth-tenant': claims.tenant };
  const reply = await call(f.gatewayUrl, 'POST', '/graphql', { query: '{ me { email } orders { status customer { id email } } }' }, headers);
  expect(reply.status).toBe(200);
  expect(reply.body).toEqual({ data: { me: { email }, orders: [{ status: 'placed', customer: { id: claims.sub, email } }] } });
  // The same subject under another tenant: identity finds no such account there.
  const other = await call(f.gatewayUrl, 'POST', '/graphql', { query: '{ me { email } }' }, { ...headers, 'x-auth-tenant': 'another-tenant' });
  expect((other.body as { data: { me: unknown } }).data.me).toBeNull();
});
