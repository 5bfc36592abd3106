/**
 * identity's security events (`com.bulwark.identity.<kind>` v1) for the
 * audit log: a login, a change of an organisation member's role, a
 * membership gained by accepting an invitation. Written to
 * `security_events_outbox` in the transaction of the change, so an event
 * exists if and only if its change committed; the outbox relay publishes
 * them to SECURITY_EVENTS_TOPIC keyed by the account.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { createEventRegistry, defineEvent, type EventDefinition } from '@bulwark/events';
import type { Queryable } from '@bulwark/db';

const Base = { accountId: z.string(), tenant: z.string() };
export const SECURITY_EVENT_SCHEMAS = {
  'login-succeeded': z.object({ ...Base, sessionId: z.string(), method: z.enum(['password', 'password+totp']), ip: z.string() }),
  'role-changed': z.object({ ...Base, actorSub: z.string(), from: z.string(), to: z.string() }),
  'membership-changed': z.object({ ...Base, actorSub: z.string(), role: z.string(), via: z.literal('invitation') }),
} as const;

export type SecurityEventKind = keyof typeof SECURITY_EVENT_SCHEMAS;

export const SECURITY_EVENTS = Object.fromEntries(
  Object.entries(SECURITY_EVENT_SCHEMAS).map(([kind, schema]) => [kind, defineEvent({ type: `com.bulwark.identity.${kind}`, version: 1, schema })]),
) as unknown as Record<SecurityEventKind, EventDefinition<string, Record<string, unknown>>>;

export const securityEventSchemas = createEventRegistry(Object.values(SECURITY_EVENTS));

/** Appends one event to the outbox inside the caller's transaction. */
export async function recordSecurityEvent<K extends SecurityEventKind>(tx: Queryable, kind: K, data: z.input<(typeof SECURITY_EVENT_SCHEMAS)[K]>): Promise<void> {
  await tx.query({
    name: 'identity.security-event',
    text: 'INSERT INTO security_events_outbox (event_id, account_id, type, data) VALUES ($1, $2, $3, $4)',
    values: [randomUUID(), data.accountId, kind, JSON.stringify(SECURITY_EVENT_SCHEMAS[kind].parse(data))],
  });
}
