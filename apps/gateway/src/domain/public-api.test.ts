import { describe, expect, it } from '@jest/globals';
import '../errors.ts';
import type { OpenApiDocument } from '@bulwark/service-kit';
import { buildPublicApi, type UpstreamDocument } from './public-api.ts';
import { RouteTable } from './route-table.ts';
import { validateRoutesFile } from './routes-file.ts';

const own: OpenApiDocument = { openapi: '3.1.0', info: { title: 'gateway', version: '1' }, paths: { '/admin/state': { get: { responses: { 200: { description: 'OK' } } } } }, components: { schemas: { Problem: { type: 'object' } } } };

const file = validateRoutesFile({
  defaultVersion: 'v1',
  upstreams: { orders: { url: 'http://127.0.0.1:1' }, payments: { url: 'http://127.0.0.1:2' }, inventory: { url: 'http://127.0.0.1:3' }, notifications: { url: 'http://127.0.0.1:4' } },
  routes: [
    { id: 'orders-v1', version: 'v1', match: { prefix: '/orders' }, upstream: 'orders', auth: { required: true, roles: ['orders'] } },
    { id: 'orders-v2', version: 'v2', match: { prefix: '/orders' }, upstream: 'orders', rewrite: { addPrefix: '/v2' } },
    { id: 'stock', match: { prefix: '/stock' }, upstream: 'inventory', rewrite: { stripPrefix: true, addPrefix: '/v1' } },
    { id: 'payments-v1', version: 'v1', match: { prefix: '/payments' }, upstream: 'payments', auth: { required: false } },
    { id: 'hooks-v1', version: 'v1', match: { prefix: '/hooks' }, upstream: 'notifications', rewrite: { stripPrefix: true, addPrefix: '/v1/tenants/{tenant}' }, auth: { required: true, roles: ['admin'] } },
  ],
});

const ordersDoc = {
  openapi: '3.1.0',
  paths: {
    '/orders/{id}': { get: { operationId: 'getOrdersById', responses: { 200: { description: 'OK', content: { 'application/json': { schema: { $ref: '#/components/schemas/Order' } } } } } } },
    '/customers/{id}/orders': { get: { operationId: 'getCustomerOrders', responses: { 200: { description: 'OK' } } } },
    '/v2/orders': {
      post: {
        operationId: 'postV2Orders',
        requestBody: { content: {} },
        responses: {
          201: { description: 'Created' },
          // A code only the orders process registers (the gateway's registry does not know it).
          503: { description: 'ORDERS_ONLY_CODE: known upstream only.', content: { 'application/problem+json': { schema: { allOf: [{ $ref: '#/components/schemas/Problem' }, { type: 'object', properties: { code: { enum: ['ORDERS_ONLY_CODE'] } } }] } } } },
        },
      },
    },
  },
  components: { schemas: { Problem: { type: 'object' }, Order: { type: 'object' } } },
};
const inventoryDoc = {
  openapi: '3.1.0',
  paths: {
    '/v1/skus/{sku}': { get: { operationId: 'getSku', responses: { 200: { description: 'OK' } } } },
  },
  components: { schemas: { Order: { type: 'string' } } },
};
const notificationsDoc = {
  openapi: '3.1.0',
  paths: {
    '/v1/tenants/{tenantId}/endpoints/{id}': {
      get: {
        operationId: 'getEndpoint',
        parameters: [{ name: 'tenantId', in: 'path', required: true, schema: { type: 'string' } }, { name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        responses: { 200: { description: 'OK' } },
      },
    },
  },
  components: { schemas: {} },
};

function build(upstreams: [string, UpstreamDocument][]) {
  return buildPublicApi({ own, table: new RouteTable(file), upstreams: new Map(upstreams), adminRoles: ['gateway-admin'] });
}

describe('buildPublicApi', () => {
  const doc = build([
    ['orders', { ok: true, doc: ordersDoc }],
    ['inventory', { ok: true, doc: inventoryDoc }],
    ['notifications', { ok: true, doc: notificationsDoc }],
    ['payments', { ok: false, reason: 'connect ECONNREFUSED' }],
  ]);

  it('when upstream paths are reachable through a route, then they are published at their public path, versioned and rewritten back', () => {
    expect(Object.keys(doc.paths).sort()).toEqual(['/admin/state', '/stock/skus/{sku}', '/v1/hooks/endpoints/{id}', '/v1/orders/{id}', '/v2/orders']);
    expect(doc.paths['/v1/orders/{id}']!.get).toMatchObject({ operationId: 'ordersV1GetOrdersById', 'x-bulwark-upstream': { name: 'orders', route: 'orders-v1', path: '/orders/{id}' } });
  });

  it('when a route takes the tenant from the token, then its public path has no tenant parameter and documents TENANT_MISSING', () => {
    const op = doc.paths['/v1/hooks/endpoints/{id}']!.get as { parameters: { name: string }[]; responses: Record<string, { content?: Record<string, { schema: { allOf: { properties?: { code: { enum: string[] } } }[] } }> }>; 'x-bulwark-tenant-from-token': string };
    expect(op.parameters.map((p) => p.name)).toEqual(['id']);
    expect(op['x-bulwark-tenant-from-token']).toBe('tenantId');
    expect(op.responses['403']!.content!['application/problem+json']!.schema.allOf[1]!.properties!.code.enum).toEqual(expect.arrayContaining(['ROLE_MISSING', 'TENANT_MISSING']));
  });

  it('when a route requires auth, then its operations carry the bearer requirement with the roles and document 401/403', () => {
    const op = doc.paths['/v1/orders/{id}']!.get as { security: unknown; responses: Record<string, unknown> };
    expect(op.security).toEqual([{ bearerAuth: ['orders'] }]);
    expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['200', '401', '403', '502', '503', '504']));
    expect((doc.paths['/admin/state']!.get as { security: unknown }).security).toEqual([{ bearerAuth: ['gateway-admin'] }]);
    expect(doc.components.securitySchemes).toMatchObject({ bearerAuth: { type: 'http', scheme: 'bearer' } });
  });

  it('when an upstream documents a status with codes the gateway does not register, then they are merged with the gateway\'s own and the upstream text is kept', () => {
    const r503 = (doc.paths['/v2/orders']!.post as { responses: Record<string, { description: string; content: Record<string, { schema: { allOf: { properties?: { code: { enum: string[] } } }[] } }> }> }).responses['503']!;
    expect(r503.description).toContain('ORDERS_ONLY_CODE: known upstream only.');
    expect(r503.content['application/problem+json']!.schema.allOf[1]!.properties!.code.enum).toContain('ORDERS_ONLY_CODE');
    expect(r503.content['application/problem+json']!.schema.allOf[1]!.properties!.code.enum.length).toBeGreaterThan(1);
  });

  it('when two upstreams name a schema alike but differently, then the second is renamed and its references follow', () => {
    expect(doc.components.schemas['inventory.Order']).toEqual({ type: 'string' });
    expect(doc.components.schemas.Order).toEqual({ type: 'object' });
  });

  it('when an upstream has no document, then what is reachable is published and the missing upstream is named', () => {
    expect(doc['x-bulwark-upstreams']).toEqual({ orders: { status: 'included' }, inventory: { status: 'included' }, notifications: { status: 'included' }, payments: { status: 'missing', reason: 'connect ECONNREFUSED' } });
    expect(doc['x-bulwark-unpublished-routes']).toContainEqual({ route: 'payments-v1', reason: 'upstream payments has no document: connect ECONNREFUSED' });
  });
});
