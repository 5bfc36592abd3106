/**
 * Endpoint use cases: register (SSRF-checked URL, first secret shown once),
 * update, disable/enable, rotate the secret (the previous one keeps signing
 * for a grace period: two active secrets), send a test event, replay.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { withTransaction, type DbPool } from '@bulwark/db';
import { notificationsError } from '../errors.ts';
import { checkEndpointUrl, type SsrfPolicy } from '../ssrf.ts';
import { findEndpoint, insertEndpoint, rotateSecret, setEndpointStatus, updateEndpoint, type Endpoint } from '../store/endpoints-store.ts';
import { insertDelivery, replayDeliveries, type Delivery, type DeliveryStatus } from '../store/deliveries-store.ts';
import { assertPayloadSize, eventPayload } from './publish-event.ts';

export const TEST_EVENT = 'bulwark.test';

export interface EndpointDeps {
  pool: DbPool;
  ssrf: SsrfPolicy;
  rotationGraceSeconds: number;
  maxPayloadBytes: number;
  /** Called after writes that create pending deliveries. */
  dispatch: () => void;
}

export function newSecret(): string {
  return `whsec_${randomBytes(24).toString('base64url')}`;
}

function notFound(id: string): Error {
  return notificationsError('NOTIFICATIONS_ENDPOINT_NOT_FOUND', `no endpoint ${id}`, { endpointId: id });
}

export async function registerEndpoint(
  deps: EndpointDeps,
  input: { tenantId: string; url: string; description: string; eventTypes: string[]; ordered: boolean },
): Promise<{ endpoint: Endpoint; secret: string }> {
  const url = await checkEndpointUrl(input.url, deps.ssrf);
  const secret = newSecret();
  const endpoint = await withTransaction(deps.pool, (tx) => insertEndpoint(tx, { id: randomUUID(), ...input, url: url.href, eventTypes: [...new Set(input.eventTypes)], secret }));
  return { endpoint, secret };
}

export async function changeEndpoint(
  deps: EndpointDeps,
  tenantId: string,
  id: string,
  patch: { url?: string; description?: string; eventTypes?: string[]; ordered?: boolean; enabled?: boolean },
): Promise<Endpoint> {
  const url = patch.url === undefined ? undefined : (await checkEndpointUrl(patch.url, deps.ssrf)).href;
  const endpoint = await withTransaction(deps.pool, async (tx) => {
    if (!(await findEndpoint(tx, tenantId, id, true))) throw notFound(id);
    let e = await updateEndpoint(tx, tenantId, id, { url, description: patch.description, eventTypes: patch.eventTypes && [...new Set(patch.eventTypes)], ordered: patch.ordered });
    if (patch.enabled !== undefined) e = await setEndpointStatus(tx, tenantId, id, patch.enabled ? 'active' : 'disabled');
    return e!;
  });
  if (patch.enabled) deps.dispatch(); // deliveries that waited for the endpoint
  return endpoint;
}

export async function rotateEndpointSecret(deps: EndpointDeps, tenantId: string, id: string, graceSeconds?: number): Promise<{ secret: string; version: number; previousExpiresAt: string | null }> {
  const secret = newSecret();
  return withTransaction(deps.pool, async (tx) => {
    if (!(await findEndpoint(tx, tenantId, id, true))) throw notFound(id);
    const r = await rotateSecret(tx, id, secret, graceSeconds ?? deps.rotationGraceSeconds);
    return { secret, ...r };
  });
}

export async function sendTestEvent(deps: EndpointDeps, tenantId: string, id: string, data: unknown): Promise<Delivery> {
  const delivery = await withTransaction(deps.pool, async (tx) => {
    const endpoint = await findEndpoint(tx, tenantId, id);
    if (!endpoint) throw notFound(id);
    if (endpoint.status === 'disabled') throw notificationsError('NOTIFICATIONS_ENDPOINT_DISABLED', `endpoint ${id} is disabled`, { endpointId: id, reason: endpoint.disabledReason });
    const eventId = randomUUID();
    const payload = eventPayload({ id: eventId, type: TEST_EVENT, occurredAt: new Date().toISOString(), data: data ?? { test: true } });
    assertPayloadSize(payload, deps.maxPayloadBytes);
    return (await insertDelivery(tx, { id: randomUUID(), endpointId: id, tenantId, eventId, eventType: TEST_EVENT, payload }))!;
  });
  deps.dispatch();
  return delivery;
}

export async function replay(
  deps: EndpointDeps,
  q: { tenantId: string; ids?: string[]; endpointId?: string; status?: DeliveryStatus; from?: Date; to?: Date; limit: number },
): Promise<string[]> {
  const ids = await withTransaction(deps.pool, (tx) => replayDeliveries(tx, q));
  deps.dispatch();
  return ids;
}
