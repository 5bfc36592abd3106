/**
 * The shortener's events (`com.bulwark.shortener.<kind>` v1), keyed by the
 * link's code, written to `shortener_events_outbox` in the transaction of the
 * change (a click flush is one transaction for its whole batch) and published
 * by the outbox relay to SHORTENER_TOPIC, where analytics reads the clicks.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { createEventRegistry, defineEvent, type EventDefinition } from '@bulwark/events';
import type { Queryable } from '@bulwark/db';

// tenantId: the link's tenant, added by the SQL that writes the outbox row (analytics files the event under it).
const LinkCreated = z.object({ tenantId: z.string(), code: z.string(), ownerSub: z.string(), redirectStatus: z.union([z.literal(301), z.literal(302)]), customAlias: z.boolean(), expiresAt: z.string().nullable() });
const LinkDeleted = z.object({ tenantId: z.string(), code: z.string(), ownerSub: z.string() });
/** One click: the referrer's origin only ('' for none). */
const LinkClicked = z.object({ tenantId: z.string(), code: z.string(), at: z.string(), referrer: z.string() });

export const SHORTENER_EVENT_SCHEMAS = {
  'link-created': LinkCreated,
  'link-deleted': LinkDeleted,
  'link-clicked': LinkClicked,
} as const;

export type ShortenerEventKind = keyof typeof SHORTENER_EVENT_SCHEMAS;
/** An event's data as the code writes it; the tenant is added from the transaction's. */
export type ShortenerEventData<K extends ShortenerEventKind> = Omit<z.input<(typeof SHORTENER_EVENT_SCHEMAS)[K]>, 'tenantId'>;

export const SHORTENER_EVENTS = Object.fromEntries(
  Object.entries(SHORTENER_EVENT_SCHEMAS).map(([kind, schema]) => [kind, defineEvent({ type: `com.bulwark.shortener.${kind}`, version: 1, schema })]),
) as unknown as Record<ShortenerEventKind, EventDefinition<string, Record<string, unknown>>>;

export const shortenerEventSchemas = createEventRegistry(Object.values(SHORTENER_EVENTS));

/** Appends one event to the outbox inside the caller's transaction, filed under the transaction's tenant, which its data names too. */
export async function recordShortenerEvent<K extends ShortenerEventKind>(tx: Queryable, kind: K, code: string, data: ShortenerEventData<K>): Promise<void> {
  await tx.query({
    name: 'shortener.record_event',
    text: "INSERT INTO shortener_events_outbox (event_id, aggregate_id, type, data) VALUES ($1, $2, $3, $4::jsonb || jsonb_build_object('tenantId', current_setting('bulwark.tenant', true)))",
    values: [randomUUID(), code, kind, JSON.stringify(data)],
  });
}
