import { describe, expect, test } from '@jest/globals';
import { createDedupeWindow, statusChangeOf } from './order-status-feed.ts';

describe('statusChangeOf', () => {
  test('when an event changes the status, then it names the status after it, the version and the tenant', () => {
    expect(statusChangeOf('com.bulwark.orders.order-shipped', 'e-1', '2026-12-07T00:00:00Z', { orderId: 'o-1', version: 7, tenantId: 't-1', carrier: 'ups' })).toEqual({
      orderId: 'o-1',
      status: 'shipped',
      version: 7,
      tenantId: 't-1',
      eventId: 'e-1',
      occurredAt: '2026-12-07T00:00:00Z',
    });
  });

  test('when an event does not change the status or lacks its envelope, then there is no change', () => {
    expect(statusChangeOf('com.bulwark.orders.item-added', 'e-2', 't', { orderId: 'o-1', version: 2 })).toBeUndefined();
    expect(statusChangeOf('com.bulwark.orders.order-placed', 'e-3', 't', { version: 2 })).toBeUndefined();
    expect(statusChangeOf('com.bulwark.orders.order-placed', 'e-4', 't', null)).toBeUndefined();
  });

  test('when an event has no tenant, then the change has tenantId null (no subscriber is sent it)', () => {
    expect(statusChangeOf('com.bulwark.orders.order-cancelled', 'e-5', 't', { orderId: 'o-1', version: 3 })?.tenantId).toBeNull();
  });
});

describe('createDedupeWindow', () => {
  test('when an id comes again within the window, then it is refused; once pushed out, it passes', () => {
    const window = createDedupeWindow(2);
    expect(window.add('a')).toBe(true);
    expect(window.add('a')).toBe(false);
    expect(window.add('b')).toBe(true);
    expect(window.add('c')).toBe(true);
    expect(window.add('a')).toBe(true);
  });
});
