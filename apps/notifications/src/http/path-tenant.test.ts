import { describe, expect, it } from '@jest/globals';
import { pathTenant } from './path-tenant.ts';

describe('pathTenant', () => {
  it('when the path names a tenant, then it is that tenant, whatever follows', () => {
    expect(pathTenant('/v1/tenants/acme/endpoints')).toBe('acme');
    expect(pathTenant('/v1/tenants/t-1_x/deliveries?limit=5')).toBe('t-1_x');
    expect(pathTenant('/v1/tenants/acme')).toBe('acme');
    expect(pathTenant('/v1/tenants/acme#x')).toBe('acme');
  });

  it('when the path names no tenant or a malformed one, then there is none', () => {
    for (const url of [undefined, '', '/v1/providers/smtp/events', '/v1/suppressions', '/v1/tenants/', '/v2/tenants/acme', '/x/v1/tenants/acme', '/v1/tenants/%E0%A4%A/x', '/v1/tenants/a%20b/x', '/v1/tenants/-a/x']) {
      expect([url, pathTenant(url)]).toEqual([url, undefined]);
    }
  });
});
