/**
 * flags' events (`com.bulwark.flags.<kind>` v1, CloudEvents through the
 * outbox relay), keyed by the flag, segment or experiment key. Changes carry
 * `tenant` and `actorSub` (who) and the row before and after, as the audit
 * log reads them; exposures feed analytics.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { createEventRegistry, defineEvent, type EventDefinition } from '@bulwark/events';
import type { Queryable } from '@bulwark/db';
import { recordEvent } from '../store/flag-store.ts';

const Change = z.object({
  tenant: z.string(),
  key: z.string(),
  action: z.string(),
  actorSub: z.string(),
  revision: z.number().int(),
  before: z.unknown().nullable(),
  after: z.unknown().nullable(),
});
const Exposure = z.object({ tenant: z.string(), experiment: z.string(), flag: z.string(), variant: z.string(), targetingKey: z.string(), environment: z.string() });

export const FLAGS_EVENT_SCHEMAS = {
  'flag-changed': Change,
  'segment-changed': Change,
  'experiment-changed': Change,
  exposure: Exposure,
} as const;

export type FlagsEventKind = keyof typeof FLAGS_EVENT_SCHEMAS;

export const FLAGS_EVENTS = Object.fromEntries(
  Object.entries(FLAGS_EVENT_SCHEMAS).map(([kind, schema]) => [kind, defineEvent({ type: `com.bulwark.flags.${kind}`, version: 1, schema })]),
) as unknown as Record<FlagsEventKind, EventDefinition<string, Record<string, unknown>>>;

export const flagsEventSchemas = createEventRegistry(Object.values(FLAGS_EVENTS));

/** Appends one event to the outbox inside the caller's transaction. */
export async function recordFlagsEvent<K extends FlagsEventKind>(tx: Queryable, kind: K, aggregateId: string, data: z.input<(typeof FLAGS_EVENT_SCHEMAS)[K]>): Promise<void> {
  await recordEvent(tx, { id: randomUUID(), aggregateId, type: kind, data });
}
