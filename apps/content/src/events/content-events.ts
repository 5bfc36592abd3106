/**
 * The content service's events (`com.bulwark.content.<kind>` v1), keyed by
 * article id, written to `content_events_outbox` in the transaction of the
 * change and published by the outbox relay to CONTENT_TOPIC. Every event
 * carries `surrogateKeys`: the edge drops the objects tagged with them.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { createEventRegistry, defineEvent, type EventDefinition } from '@bulwark/events';
import type { Queryable } from '@bulwark/db';

const ArticleChanged = z.object({
  tenantId: z.string(),
  articleId: z.string(),
  slug: z.string(),
  status: z.string(),
  revision: z.number().int(),
  authorSub: z.string(),
  /** Why a moderator rejected it (the author is told through this event and the article). */
  reason: z.string().nullable(),
  surrogateKeys: z.array(z.string()),
});

export const CONTENT_EVENT_SCHEMAS = {
  'article-changed': ArticleChanged,
  'article-rejected': ArticleChanged,
} as const;

export type ContentEventKind = keyof typeof CONTENT_EVENT_SCHEMAS;

export const CONTENT_EVENTS = Object.fromEntries(
  Object.entries(CONTENT_EVENT_SCHEMAS).map(([kind, schema]) => [kind, defineEvent({ type: `com.bulwark.content.${kind}`, version: 1, schema })]),
) as unknown as Record<ContentEventKind, EventDefinition<string, Record<string, unknown>>>;

export const contentEventSchemas = createEventRegistry(Object.values(CONTENT_EVENTS));

/** The surrogate keys of an article's public representations: the article itself and the tenant's lists and searches. */
export function articleSurrogateKeys(tenant: string, articleId: string): string[] {
  return [`article:${articleId}`, `articles:${tenant}`];
}

/** Appends one event to the outbox inside the caller's transaction, filed under the transaction's tenant, which its data names too. */
export async function recordContentEvent(tx: Queryable, kind: ContentEventKind, data: Omit<z.input<typeof ArticleChanged>, 'tenantId' | 'surrogateKeys'>): Promise<void> {
  await tx.query({
    name: 'content.record_event',
    text: `INSERT INTO content_events_outbox (event_id, aggregate_id, type, data)
           VALUES ($1, $2, $3, $4::jsonb || jsonb_build_object('tenantId', current_setting('bulwark.tenant', true),
             'surrogateKeys', jsonb_build_array('article:' || $2, 'articles:' || current_setting('bulwark.tenant', true))))`,
    values: [randomUUID(), data.articleId, kind, JSON.stringify(data)],
  });
}
