import { describe, expect, it } from '@jest/globals';
import type { CloudEvent } from '@bulwark/events';
import { mapPlatformEvent } from './platform-events.ts';

const ce = (type: string, data: unknown, time = '2026-12-07T10:00:00.000Z'): CloudEvent => ({ specversion: '1.0', id: 'e-1', source: '/bulwark/x', type, subject: 'k', time, datacontenttype: 'application/json', dataschema: undefined, dataversion: 1, traceparent: undefined, tracestate: undefined, data });

describe('mapPlatformEvent', () => {
  it('when a shortener click arrives, then it is shortener.link-clicked at the click time under the fallback tenant', () => {
    const out = mapPlatformEvent('shortener.events', ce('com.bulwark.shortener.link-clicked', { code: 'abc', at: '2026-12-07T09:59:00Z', referrer: '' }), 't0');
    expect(out).toEqual({ event: { tenant: 't0', id: 'e-1', type: 'shortener.link-clicked', occurredAt: '2026-12-07T09:59:00.000Z', userId: null, source: 'shortener.events', props: { code: 'abc', referrer: '' } } });
  });

  it('when an order event names its tenant, then that tenant wins and nested data is left out', () => {
    const out = mapPlatformEvent('orders.events', ce('com.bulwark.orders.order-placed', { orderId: 'o1', version: 3, tenantId: 't9', totalCents: 990, customerId: 'c1', address: { city: 'x' } }), 't0');
    expect(out).toMatchObject({ event: { tenant: 't9', type: 'orders.order-placed', userId: 'c1', props: { orderId: 'o1', version: 3, totalCents: 990, customerId: 'c1' } } });
  });

  it('when no tenant is known, or the type is foreign, then the event is skipped', () => {
    expect(mapPlatformEvent('shortener.events', ce('com.bulwark.shortener.link-clicked', { code: 'a' }), undefined)).toEqual({ skip: 'no-tenant' });
    expect(mapPlatformEvent('x', ce('org.other.thing', {}), 't0')).toEqual({ skip: 'unknown-type' });
  });

  it("when flags publishes an exposure, then it is flags.exposure under the exposure's tenant with the targeting key as user; a flag change is skipped", () => {
    const exposure = { tenant: 't5', experiment: 'checkout-button', flag: 'new-checkout', variant: 'blue', targetingKey: 'user-7', environment: 'production' };
    expect(mapPlatformEvent('flags.events', ce('com.bulwark.flags.exposure', exposure), 't0')).toEqual({
      event: { tenant: 't5', id: 'e-1', type: 'flags.exposure', occurredAt: '2026-12-07T10:00:00.000Z', userId: 'user-7', source: 'flags.events', props: { experiment: 'checkout-button', flag: 'new-checkout', variant: 'blue', targetingKey: 'user-7', environment: 'production' } },
    });
    expect(mapPlatformEvent('flags.events', ce('com.bulwark.flags.flag-changed', { tenant: 't5', key: 'f', action: 'update' }), 't0')).toEqual({ skip: 'not-analytics' });
  });
});
