/**
 * Thin routes of webhook endpoints, events and the delivery log: validated
 * input, one use case, the answer. Everything is under the tenant's path.
 */
import { randomUUID } from 'node:crypto';
import type { DbPool } from '@bulwark/db';
import type { RouteRegistrar } from '@bulwark/service-kit';
import { changeEndpoint, enableEndpoint, recoverMissedEvents, registerEndpoint, replay, rotateEndpointSecret, sendTestEvent, type EndpointDeps } from '../domain/manage-endpoints.ts';
import { publishToTenant } from '../domain/publish-event.ts';
import { notificationsError } from '../errors.ts';
import { findDelivery, listAttempts, queryDeliveries } from '../store/deliveries-store.ts';
import { findEndpoint, listEndpoints } from '../store/endpoints-store.ts';
import {
  CreateEndpointBody,
  CreatedEndpointResponse,
  DeliveryDetailResponse,
  DeliveryListResponse,
  DeliveryParams,
  DeliveryQuery,
  DeliveryResponse,
  EnableBody,
  EnableResponse,
  EndpointListResponse,
  EndpointParams,
  EndpointResponse,
  PublishEventBody,
  PublishResponse,
  RecoverBody,
  RecoveryResponse,
  ReplayRangeBody,
  ReplayResponse,
  RotateBody,
  RotateResponse,
  TenantParams,
  TestEventBody,
  UpdateEndpointBody,
} from './schemas.ts';

export function registerWebhookRoutes(r: RouteRegistrar, deps: EndpointDeps & { pool: DbPool }): void {
  const base = '/v1/tenants/:tenantId';

  r.post(`${base}/endpoints`, {
    summary: 'Register a webhook endpoint (SSRF-checked); the signing secret is returned once',
    errors: ['NOTIFICATIONS_INVALID_URL', 'NOTIFICATIONS_URL_FORBIDDEN', 'NOTIFICATIONS_HOST_UNRESOLVABLE', 'NOTIFICATIONS_DNS_UNAVAILABLE'],
    params: TenantParams,
    body: CreateEndpointBody,
    responses: { 201: CreatedEndpointResponse },
    handler: async ({ params, body }) => {
      const created = await registerEndpoint(deps, { tenantId: params.tenantId, ...body });
      return { status: 201, body: created, headers: { location: `${base.replace(':tenantId', params.tenantId)}/endpoints/${created.endpoint.id}` } };
    },
  });
  r.get(`${base}/endpoints`, {
    summary: 'Endpoints of the tenant',
    params: TenantParams,
    responses: { 200: EndpointListResponse },
    handler: async ({ params }) => ({ status: 200, body: { endpoints: await listEndpoints(deps.pool, params.tenantId) } }),
  });
  r.get(`${base}/endpoints/:id`, {
    summary: 'One endpoint with its health',
    errors: ['NOTIFICATIONS_ENDPOINT_NOT_FOUND'],
    params: EndpointParams,
    responses: { 200: EndpointResponse },
    handler: async ({ params }) => {
      const e = await findEndpoint(deps.pool, params.tenantId, params.id);
      if (!e) throw notificationsError('NOTIFICATIONS_ENDPOINT_NOT_FOUND', `no endpoint ${params.id}`, { endpointId: params.id });
      return { status: 200, body: e };
    },
  });
  r.patch(`${base}/endpoints/:id`, {
    summary: 'Change URL, filters, ordering, description; enabled: false disables, true re-enables as POST …/enable does (health reset, the events missed while disabled delivered)',
    errors: ['NOTIFICATIONS_ENDPOINT_NOT_FOUND', 'NOTIFICATIONS_INVALID_URL', 'NOTIFICATIONS_URL_FORBIDDEN', 'NOTIFICATIONS_HOST_UNRESOLVABLE', 'NOTIFICATIONS_DNS_UNAVAILABLE'],
    params: EndpointParams,
    body: UpdateEndpointBody,
    responses: { 200: EndpointResponse },
    handler: async ({ params, body }) => ({ status: 200, body: await changeEndpoint(deps, params.tenantId, params.id, body) }),
  });
  r.post(`${base}/endpoints/:id/disable`, {
    summary: 'Disable an endpoint (deliveries to it stop)',
    errors: ['NOTIFICATIONS_ENDPOINT_NOT_FOUND'],
    params: EndpointParams,
    responses: { 200: EndpointResponse },
    handler: async ({ params }) => ({ status: 200, body: await changeEndpoint(deps, params.tenantId, params.id, { enabled: false }) }),
  });
  r.post(`${base}/endpoints/:id/enable`, {
    summary: 'Enable an endpoint (health reset) and deliver the retained events published while it was disabled (recoverMissed, default true); missed counts those still without a delivery',
    errors: ['NOTIFICATIONS_ENDPOINT_NOT_FOUND'],
    params: EndpointParams,
    body: EnableBody,
    responses: { 200: EnableResponse },
    handler: async ({ params, body }) => ({ status: 200, body: await enableEndpoint(deps, params.tenantId, params.id, body.recoverMissed) }),
  });
  r.post(`${base}/endpoints/:id/recover`, {
    summary: 'Deliver the tenant\'s retained events created in [from, to) that match the endpoint\'s filter and that it has no delivery of (events published while it was disabled)',
    errors: ['NOTIFICATIONS_ENDPOINT_NOT_FOUND', 'NOTIFICATIONS_ENDPOINT_DISABLED', 'NOTIFICATIONS_RANGE_NOT_RETAINED'],
    params: EndpointParams,
    body: RecoverBody,
    responses: { 202: RecoveryResponse },
    handler: async ({ params, body }) => ({ status: 202, body: await recoverMissedEvents(deps, params.tenantId, params.id, body) }),
  });
  r.post(`${base}/endpoints/:id/rotate-secret`, {
    summary: 'Rotate the signing secret; the previous one keeps signing for the grace period',
    errors: ['NOTIFICATIONS_ENDPOINT_NOT_FOUND'],
    params: EndpointParams,
    body: RotateBody,
    responses: { 200: RotateResponse },
    handler: async ({ params, body }) => ({ status: 200, body: await rotateEndpointSecret(deps, params.tenantId, params.id, body.graceSeconds) }),
  });
  r.post(`${base}/endpoints/:id/test`, {
    summary: 'Send a bulwark.test event to this endpoint',
    errors: ['NOTIFICATIONS_ENDPOINT_NOT_FOUND', 'NOTIFICATIONS_ENDPOINT_DISABLED', 'NOTIFICATIONS_PAYLOAD_TOO_LARGE'],
    params: EndpointParams,
    body: TestEventBody,
    responses: { 202: DeliveryResponse },
    handler: async ({ params, body }) => ({ status: 202, body: await sendTestEvent(deps, params.tenantId, params.id, body.data) }),
  });
  r.post(`${base}/endpoints/:id/replay`, {
    summary: 'Replay the endpoint\'s deliveries created in [from, to) (optionally only one status) as new deliveries',
    errors: ['NOTIFICATIONS_ENDPOINT_NOT_FOUND'],
    params: EndpointParams,
    body: ReplayRangeBody,
    responses: { 202: ReplayResponse },
    handler: async ({ params, body }) => {
      if (!(await findEndpoint(deps.pool, params.tenantId, params.id))) throw notificationsError('NOTIFICATIONS_ENDPOINT_NOT_FOUND', `no endpoint ${params.id}`, { endpointId: params.id });
      const ids = await replay(deps, { tenantId: params.tenantId, endpointId: params.id, status: body.status, from: body.from, to: body.to, limit: body.limit });
      return { status: 202, body: { replayed: ids.length, deliveryIds: ids } };
    },
  });
  r.post(`${base}/replay`, {
    summary: 'Replay the tenant\'s deliveries created in [from, to), optionally of one endpoint and status',
    params: TenantParams,
    body: ReplayRangeBody,
    responses: { 202: ReplayResponse },
    handler: async ({ params, body }) => {
      const ids = await replay(deps, { tenantId: params.tenantId, ...body });
      return { status: 202, body: { replayed: ids.length, deliveryIds: ids } };
    },
  });
  r.post(`${base}/events`, {
    summary: 'Publish an event: kept for the retention period, delivered to every active endpoint of the tenant whose filter matches (once per endpoint and event id); the same id with another type or data is 409',
    errors: ['NOTIFICATIONS_PAYLOAD_TOO_LARGE', 'NOTIFICATIONS_EVENT_ID_REUSED'],
    params: TenantParams,
    body: PublishEventBody,
    responses: { 202: PublishResponse },
    handler: async ({ params, body }) => {
      const eventId = body.id ?? randomUUID();
      const created = await publishToTenant(deps.pool, params.tenantId, { id: eventId, type: body.type, occurredAt: new Date().toISOString(), data: body.data }, deps.maxPayloadBytes);
      deps.dispatch();
      return { status: 202, body: { eventId, deliveries: created.map((d) => ({ id: d.id, endpointId: d.endpointId })) } };
    },
  });
  r.get(`${base}/deliveries`, {
    summary: 'Delivery log: by endpoint, status, event type and creation time, oldest first, keyset-paged',
    params: TenantParams,
    query: DeliveryQuery,
    responses: { 200: DeliveryListResponse },
    handler: async ({ params, query }) => {
      const rows = await queryDeliveries(deps.pool, { tenantId: params.tenantId, ...query });
      const next = rows.length === query.limit ? rows.at(-1)!.seq : null;
      return { status: 200, body: { deliveries: rows.map(({ seq: _seq, ...d }) => d), next } };
    },
  });
  r.get(`${base}/deliveries/:deliveryId`, {
    summary: 'One delivery with every attempt (status, latency, response snippet)',
    errors: ['NOTIFICATIONS_DELIVERY_NOT_FOUND'],
    params: DeliveryParams,
    responses: { 200: DeliveryDetailResponse },
    handler: async ({ params }) => {
      const d = await findDelivery(deps.pool, params.tenantId, params.deliveryId);
      if (!d) throw notificationsError('NOTIFICATIONS_DELIVERY_NOT_FOUND', `no delivery ${params.deliveryId}`, { deliveryId: params.deliveryId });
      return { status: 200, body: { ...d, attemptLog: await listAttempts(deps.pool, d.id) } };
    },
  });
  r.post(`${base}/deliveries/:deliveryId/replay`, {
    summary: 'Replay one delivery as a new delivery (same event id and payload)',
    errors: ['NOTIFICATIONS_DELIVERY_NOT_FOUND'],
    params: DeliveryParams,
    responses: { 202: ReplayResponse },
    handler: async ({ params }) => {
      const ids = await replay(deps, { tenantId: params.tenantId, ids: [params.deliveryId], limit: 1 });
      if (ids.length === 0) throw notificationsError('NOTIFICATIONS_DELIVERY_NOT_FOUND', `no delivery ${params.deliveryId}`, { deliveryId: params.deliveryId });
      return { status: 202, body: { replayed: 1, deliveryIds: ids } };
    },
  });
}
