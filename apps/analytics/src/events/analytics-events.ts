/**
 * The ingest topic's one event type: an accepted analytics event
 * (`com.bulwark.analytics.event-accepted` v1), keyed by tenant, its data the
 * event itself. The API publishes it; the writer stores it.
 */
import { z } from 'zod';
import { createEventRegistry, defineEvent } from '@bulwark/events';

export const EventAccepted = defineEvent({
  type: 'com.bulwark.analytics.event-accepted',
  version: 1,
  schema: z.object({
    tenant: z.string(),
    id: z.string(),
    type: z.string(),
    occurredAt: z.string(),
    userId: z.string().nullable(),
    source: z.string(),
    props: z.record(z.string(), z.unknown()),
  }),
});

export const analyticsEventSchemas = createEventRegistry([EventAccepted]);
