/**
 * Publishing one event: it is recorded in the tenant's event log (kept for
 * the retention period whatever the endpoints' state), then fanned out to
 * the tenant's active endpoints whose filter matches: one pending delivery
 * per endpoint, at most once per (endpoint, event id). Both writes share the
 * caller's transaction; the fan-out first locks the matching endpoints
 * (KEY SHARE) so that it and an enable of one of them serialise. The
 * dispatcher enqueues the deliveries after commit, so a crash between
 * commit and enqueue loses nothing. The same id again
 * with the same type and data is idempotent (the first publication's bytes
 * go to endpoints that lack it); with another body it is refused (409).
 */
import { createHash } from 'node:crypto';
import { withTransaction, type DbPool, type Queryable } from '@bulwark/db';
import { canonicalJson } from '@bulwark/idempotency';
import { notificationsError } from '../errors.ts';
import { insertFanOut, type Delivery } from '../store/deliveries-store.ts';
import { lockEndpointsForFanOut } from '../store/endpoints-store.ts';
import { storeEvent } from '../store/events-store.ts';

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

/** What makes two publications of one id the same event: type and data, key order and whitespace aside. */
export function eventFingerprint(event: Pick<OutgoingEvent, 'type' | 'data'>): string {
  return createHash('sha256').update(canonicalJson({ type: event.type, data: event.data ?? null })).digest('hex');
}

export function assertPayloadSize(payload: string, maxBytes: number): void {
  const size = Buffer.byteLength(payload);
  if (size > maxBytes) throw notificationsError('NOTIFICATIONS_PAYLOAD_TOO_LARGE', `event payload is ${size} bytes, limit ${maxBytes}`, { size, max: maxBytes });
}

/** Returns the deliveries created (none for endpoints that already had this event id). Run inside a transaction. */
export async function publishEvent(db: Queryable, tenantId: string, event: OutgoingEvent, maxPayloadBytes: number): Promise<Delivery[]> {
  const payload = eventPayload(event);
  assertPayloadSize(payload, maxPayloadBytes);
  const fingerprint = eventFingerprint(event);
  const stored = await storeEvent(db, { tenantId, id: event.id, type: event.type, fingerprint, payload });
  if (stored.fingerprint !== fingerprint) {
    throw notificationsError('NOTIFICATIONS_EVENT_ID_REUSED', `event ${event.id} was already published with another type or data`, { eventId: event.id });
  }
  await lockEndpointsForFanOut(db, tenantId, event.type); // an enable in progress finishes first, or sees this event
  return insertFanOut(db, { tenantId, eventId: event.id, eventType: event.type, payload: stored.payload });
}

/** publishEvent in a transaction of its own: the event and its deliveries commit together. */
export function publishToTenant(pool: DbPool, tenantId: string, event: OutgoingEvent, maxPayloadBytes: number): Promise<Delivery[]> {
  return withTransaction(pool, (tx) => publishEvent(tx, tenantId, event, maxPayloadBytes));
}
