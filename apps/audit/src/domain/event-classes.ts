/**
 * Which platform events the audit log records, the class each belongs to,
 * and how long each class is kept. Retention is per class (docs/DECISIONS.md,
 * "Audit log"): authentication 400 days (a year of look-back plus a
 * quarter), access changes 7 years, payments 10 years (bookkeeping law),
 * admin actions 2 years. Events of types not listed here are not security
 * relevant and are skipped by the consumer.
 */
import { z } from 'zod';
import { createEventRegistry, defineEvent, type EventDefinition } from '@bulwark/events';

export const EVENT_CLASSES = {
  authentication: { retentionDays: 400 },
  access: { retentionDays: 7 * 365 },
  payment: { retentionDays: 10 * 365 },
  admin: { retentionDays: 2 * 365 },
} as const;

export type EventClass = keyof typeof EVENT_CLASSES;

/** CloudEvents type → class. */
export const AUDITED_TYPES: Readonly<Record<string, EventClass>> = {
  'com.bulwark.identity.login-succeeded': 'authentication',
  'com.bulwark.identity.login-failed': 'authentication',
  'com.bulwark.identity.role-changed': 'access',
  'com.bulwark.identity.membership-changed': 'access',
  'com.bulwark.payments.payment-authorized': 'payment',
  'com.bulwark.payments.payment-declined': 'payment',
  'com.bulwark.payments.payment-captured': 'payment',
  'com.bulwark.payments.payment-voided': 'payment',
  'com.bulwark.payments.payment-refunded': 'payment',
  'com.bulwark.catalog.product-changed': 'admin',
  'com.bulwark.catalog.category-changed': 'admin',
  'com.bulwark.secrets.secret-read': 'access',
  'com.bulwark.secrets.access-policy-changed': 'access',
  'com.bulwark.secrets.secret-written': 'admin',
  'com.bulwark.secrets.secret-version-disabled': 'admin',
};

/** The audit log keeps whatever data an event carries: one lenient v1 definition per audited type. */
const AnyData = z.record(z.string(), z.unknown());
export const AUDITED_EVENTS: readonly EventDefinition<string, Record<string, unknown>>[] = Object.keys(AUDITED_TYPES).map((type) => defineEvent({ type, version: 1, schema: AnyData }));
export const auditedEventSchemas = createEventRegistry(AUDITED_EVENTS);

const str = (v: unknown): string | null => (typeof v === 'string' && v.length > 0 ? v : null);

/** Who acted, as far as the event says: an account (identity), an author, an owner. */
export function actorOf(data: Record<string, unknown>): string | null {
  return str(data.actorSub) ?? str(data.accountId) ?? str(data.authorSub) ?? str(data.ownerSub) ?? null;
}

/** The tenant an event names, or null (platform-wide events). */
export function tenantOf(data: Record<string, unknown>): string | null {
  return str(data.tenant) ?? str(data.tenantId) ?? null;
}
