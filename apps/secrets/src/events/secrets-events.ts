/**
 * secrets' events (`com.bulwark.secrets.<kind>` v1, CloudEvents through the
 * outbox relay), keyed by `<tenant>/<name>`: every read of a value, every
 * new version, every disable and every policy change, with `tenant` and
 * `actorSub` as apps/audit reads them. Never a value or key.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { createEventRegistry, defineEvent, type EventDefinition } from '@bulwark/events';
import type { Queryable } from '@bulwark/db';

const Base = { tenant: z.string(), actorSub: z.string(), actorKind: z.enum(['service', 'admin']) };
export const SECRETS_EVENT_SCHEMAS = {
  'secret-read': z.object({ ...Base, name: z.string(), version: z.number().int() }),
  'secret-written': z.object({ ...Base, name: z.string(), version: z.number().int() }),
  'secret-version-disabled': z.object({ ...Base, name: z.string(), version: z.number().int() }),
  'access-policy-changed': z.object({ ...Base, clientId: z.string(), patterns: z.array(z.string()) }),
} as const;

export type SecretsEventKind = keyof typeof SECRETS_EVENT_SCHEMAS;

export const SECRETS_EVENTS = Object.fromEntries(
  Object.entries(SECRETS_EVENT_SCHEMAS).map(([kind, schema]) => [kind, defineEvent({ type: `com.bulwark.secrets.${kind}`, version: 1, schema })]),
) as unknown as Record<SecretsEventKind, EventDefinition<string, Record<string, unknown>>>;

export const secretsEventSchemas = createEventRegistry(Object.values(SECRETS_EVENTS));

/** Appends one event to the outbox inside the caller's transaction. */
export async function recordSecretsEvent<K extends SecretsEventKind>(tx: Queryable, kind: K, aggregateId: string, data: z.input<(typeof SECRETS_EVENT_SCHEMAS)[K]>): Promise<void> {
  await tx.query({ name: 'secrets.outbox.insert', text: 'INSERT INTO secrets_events_outbox (event_id, aggregate_id, type, data) VALUES ($1, $2, $3, $4)', values: [randomUUID(), aggregateId, kind, JSON.stringify(data)] });
}
