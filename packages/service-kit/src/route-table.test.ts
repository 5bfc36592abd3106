import { describe, expect, it } from '@jest/globals';
import { assertValidTemplate, methodLabel, RouteTable, toOpenApiPath, UNMATCHED_ROUTE } from './route-table.ts';

function table(): RouteTable {
  const t = new RouteTable();
  t.add('GET', '/orders/:id');
  t.add('DELETE', '/orders/:id');
  t.add('GET', '/orders/export');
  t.add('POST', '/orders');
  return t;
}

describe('RouteTable.match', () => {
  it('when a concrete path fits a template, then the template and its allowed methods are returned', () => {
    expect(table().match('/orders/42')).toEqual({ template: '/orders/:id', allow: ['DELETE', 'GET', 'HEAD'] });
  });

  it('when a literal and a parameter both fit, then the literal template wins', () => {
    expect(table().match('/orders/export')?.template).toBe('/orders/export');
  });

  it('when no template fits, then nothing is returned (and the metrics label is the single unmatched one)', () => {
    expect(table().match('/orders/42/items')).toBeUndefined();
    expect(table().match('/wp-admin.php')).toBeUndefined();
    expect(UNMATCHED_ROUTE).toBe('unmatched');
  });

  it('when the path has a trailing slash, then it matches like Express does', () => {
    expect(table().match('/orders/')?.template).toBe('/orders');
  });

  it('when a method is registered twice on a template, then it throws', () => {
    const t = table();
    expect(() => t.add('POST', '/orders')).toThrow(/twice/);
  });
});

describe('route templates', () => {
  it('when a template uses wildcards or regex, then it is rejected', () => {
    expect(() => assertValidTemplate('/files/*path')).toThrow();
    expect(() => assertValidTemplate('orders')).toThrow();
    expect(() => assertValidTemplate('/orders/:id/items/:itemId')).not.toThrow();
  });

  it('when converted for OpenAPI, then :params become {params}', () => {
    expect(toOpenApiPath('/orders/:id/items/:itemId')).toBe('/orders/{id}/items/{itemId}');
  });

  it('when a method is unknown, then its label collapses to _OTHER', () => {
    expect(methodLabel('GET')).toBe('GET');
    expect(methodLabel('BREW')).toBe('_OTHER');
  });
});
