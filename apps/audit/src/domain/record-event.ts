/**
 * The Kafka side: one handler per audited event type, appending the event
 * to the log in the consumer's transaction (together with its processed
 * mark), so a redelivery is a no-op twice over (the mark and the log's
 * unique event id).
 */
import { handle, type CloudEvent, type EventHandler } from '@bulwark/events';
import { appendEvents, type AuditEvent } from './append.ts';
import { actorOf, AUDITED_EVENTS, AUDITED_TYPES, tenantOf } from './event-classes.ts';
import type { LogSigner } from './signing-key.ts';

export function auditEventOf(event: CloudEvent<Record<string, unknown>>): AuditEvent {
  const eventClass = AUDITED_TYPES[event.type];
  if (!eventClass) throw new Error(`${event.type} is not an audited type`);
  return { eventId: event.id, type: event.type, eventClass, source: event.source, subject: event.subject ?? null, tenant: tenantOf(event.data), actor: actorOf(event.data), occurredAt: new Date(event.time).toISOString(), data: event.data };
}

export function auditHandlers(signer: LogSigner, onAppended: (count: number) => void = () => undefined): EventHandler[] {
  return AUDITED_EVENTS.map((definition) =>
    handle(definition, async (event, ctx) => {
      const rows = await appendEvents(ctx.db, signer, [auditEventOf(event)]);
      onAppended(rows.length);
    }),
  );
}
