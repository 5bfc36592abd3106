/**
 * Fan-out of one event to the tenant's active endpoints whose filter matches:
 * one pending delivery per endpoint, at most once per (endpoint, event id),
 * in one statement (inside the caller's transaction when it has one). The dispatcher enqueues them after
 * commit, so a crash between commit and enqueue loses nothing.
 */
import type { Queryable } from '@bulwark/db';
import { notificationsError } from '../errors.ts';
import { insertFanOut, type Delivery } from '../store/deliveries-store.ts';

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
  return insertFanOut(db, { tenantId, eventId: event.id, eventType: event.type, payload });
}
