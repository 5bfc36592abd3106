/**
 * The platform's own events as analytics events (pure). A CloudEvent
 * `com.bulwark.<service>.<kind>` becomes type `<service>.<kind>` (e.g.
 * `shortener.link-clicked`, `orders.order-placed`), its id the CloudEvents
 * id (unique per source: a redelivery is a duplicate), its time the click's
 * `at` when there is one, else the CloudEvents time, and its props the scalar
 * fields of the data. The tenant is the data's `tenantId` (orders, the
 * shortener) or `tenant` (flags), else `fallbackTenant`; without either the
 * event is skipped. The user is the data's customerId, ownerSub or
 * targetingKey (a flag exposure's key). Flags' change events (the audit
 * trail's) are not analytics and are skipped; its exposures are
 * `flags.exposure` (experiment, flag, variant, environment).
 */
import type { CloudEvent } from '@bulwark/events';
import type { AnalyticsEvent } from '../domain/event-types.ts';

const TYPE = /^com\.bulwark\.([a-z0-9-]+)\.([a-z0-9-]+)$/;

export type PlatformMapping = { event: AnalyticsEvent } | { skip: 'unknown-type' | 'not-analytics' | 'no-tenant' | 'bad-time' };

/** Platform events that are configuration changes, not behaviour. */
const NOT_ANALYTICS = new Set(['flags.flag-changed', 'flags.segment-changed', 'flags.experiment-changed']);
const TENANT_KEYS = ['tenantId', 'tenant'] as const;
const USER_KEYS = ['customerId', 'ownerSub', 'targetingKey'] as const;

export function mapPlatformEvent(topic: string, ce: CloudEvent, fallbackTenant: string | undefined): PlatformMapping {
  const match = TYPE.exec(ce.type);
  if (!match) return { skip: 'unknown-type' };
  const type = `${match[1]}.${match[2]}`;
  if (NOT_ANALYTICS.has(type)) return { skip: 'not-analytics' };
  const data = (typeof ce.data === 'object' && ce.data !== null ? ce.data : {}) as Record<string, unknown>;
  const named = TENANT_KEYS.map((k) => data[k]).find((v): v is string => typeof v === 'string' && v !== '');
  const tenant = named ?? fallbackTenant;
  if (!tenant) return { skip: 'no-tenant' };
  const time = new Date(typeof data.at === 'string' ? data.at : ce.time);
  if (Number.isNaN(time.getTime())) return { skip: 'bad-time' };
  const props: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(data)) {
    if (key === 'tenantId' || key === 'tenant' || key === 'at') continue;
    if (value === null || ['string', 'number', 'boolean'].includes(typeof value)) props[key] = value;
  }
  const userId = USER_KEYS.map((k) => data[k]).find((v): v is string => typeof v === 'string') ?? null;
  return { event: { tenant, id: ce.id, type, occurredAt: time.toISOString(), userId, source: topic, props } };
}
