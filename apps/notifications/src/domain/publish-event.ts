/**
 * Fan-out of one event to the tenant's active endpoints whose filter matches:
 * one pending delivery per endpoint, at most once per (endpoint, event id),
 * written in the caller's transaction. The dispatcher enqueues them after
 * commit, so a crash between commit and enqueue loses nothing.
 */
import { randomUUID } from 'node:crypto';
import type { Queryable } from '@bulwark/db';
import { notificationsError } from '../errors.ts';
import { insertDelivery, type Delivery } from '../store/deliveries-store.ts';
import { matchingEndpoints } from '../store/endpoints-store.ts';

export interface OutgoingEvent {
  id: string;
  type: string;
  /** ISO time the event happened. */
  occurredAt: string;
  data: unknown;
}

/** The exact JSON a receiver gets (and the signature covers). */
export function eventPayload(event: OutgoingEvent): string {
  return JSON.stringify({ id: event.id, type: event.type, occurredAt: event.occurredAt, data: event.data });
}

export function assertPayloadSize(payload: string, maxBytes: number): void {
  const size = Buffer.byteLength(payload);
  if (size > maxBytes) throw notificationsError('NOTIFICATIONS_PAYLOAD_TOO_LARGE', `event payload is ${size} bytes, limit ${maxBytes}`, { size, max: maxBytes });
}

/** Returns the deliveries created (none for endpoints that already had this event id). */
export async function publishEvent(db: Queryable, tenantId: string, event: OutgoingEvent, maxPayloadBytes: number): Promise<Delivery[]> {
  const payload = eventPayload(event);
  assertPayloadSize(payload, maxPayloadBytes);
  const created: Delivery[] = [];
  for (const endpoint of await matchingEndpoints(db, tenantId, event.type)) {
    const d = await insertDelivery(db, { id: randomUUID(), endpointId: endpoint.id, tenantId, eventId: event.id, eventType: event.type, payload });
    if (d) created.push(d);
  }
  return created;
}
