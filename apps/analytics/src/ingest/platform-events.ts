/**
 * The platform's own events as analytics events (pure). A CloudEvent
 * `com.bulwark.<service>.<kind>` becomes type `<service>.<kind>` (e.g.
 * `shortener.link-clicked`, `orders.order-placed`), its id the CloudEvents
 * id (unique per source: a redelivery is a duplicate), its time the click's
 * `at` when there is one, else the CloudEvents time, and its props the scalar
 * fields of the data. The tenant is the data's `tenantId` (orders), else
 * `fallbackTenant`; without either the event is skipped.
 */
import type { CloudEvent } from '@bulwark/events';
import type { AnalyticsEvent } from '../domain/event-types.ts';

const TYPE = /^com\.bulwark\.([a-z0-9-]+)\.([a-z0-9-]+)$/;

export type PlatformMapping = { event: AnalyticsEvent } | { skip: 'unknown-type' | 'no-tenant' | 'bad-time' };

export function mapPlatformEvent(topic: string, ce: CloudEvent, fallbackTenant: string | undefined): PlatformMapping {
  const match = TYPE.exec(ce.type);
  if (!match) return { skip: 'unknown-type' };
  const data = (typeof ce.data === 'object' && ce.data !== null ? ce.data : {}) as Record<string, unknown>;
  const tenant = typeof data.tenantId === 'string' && data.tenantId !== '' ? data.tenantId : fallbackTenant;
  if (!tenant) return { skip: 'no-tenant' };
  const time = new Date(typeof data.at === 'string' ? data.at : ce.time);
  if (Number.isNaN(time.getTime())) return { skip: 'bad-time' };
  const props: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(data)) {
    if (key === 'tenantId' || key === 'at') continue;
    if (value === null || ['string', 'number', 'boolean'].includes(typeof value)) props[key] = value;
  }
  const userId = typeof data.customerId === 'string' ? data.customerId : typeof data.ownerSub === 'string' ? data.ownerSub : null;
  return { event: { tenant, id: ce.id, type: `${match[1]}.${match[2]}`, occurredAt: time.toISOString(), userId, source: topic, props } };
}
