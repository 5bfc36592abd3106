import { describe, expect, it } from '@jest/globals';
import { guestTokenOf, parseGuestToken } from './carts.ts';

describe('guest cart tokens', () => {
  it('when a token is made, then it parses back to its tenant and secret (tenants may hold dots, colons and @)', () => {
    expect(parseGuestToken(guestTokenOf('org.a:b@c', 's3cr-et_'))).toEqual({ tenant: 'org.a:b@c', secret: 's3cr-et_' });
  });

  it('when the tenant or the secret is missing, then it does not parse', () => {
    for (const bad of ['', 'tenant', '~secret', 'tenant~', '~']) expect(parseGuestToken(bad)).toBeUndefined();
  });
});
