import { describe, expect, it } from '@jest/globals';
import { clientIpOf, clientResponseHeaderList, clientResponseHeaders, upstreamRequestHeaders } from './headers.ts';

describe('upstreamRequestHeaders', () => {
  it('when a client sends hop-by-hop, Connection-listed, spoofed x-auth-* and forwarded headers, then none pass and ours are set', () => {
    const out = upstreamRequestHeaders(
      {
        host: 'api.example',
        connection: 'keep-alive, x-secret',
        'x-secret': '1',
        'keep-alive': 'timeout=5',
        te: 'trailers',
        'transfer-encoding': 'chunked',
        upgrade: 'h2c',
        'proxy-authorization': 'Basic x',
        'x-auth-sub': 'admin',
        'x-auth-roles': 'gateway-admin',
        'x-forwarded-for': '6.6.6.6',
        accept: 'application/json',
      },
      { clientIp: '10.0.0.1', trustProxyHops: 0, proto: 'http', set: { 'x-auth-sub': 'u-1' } },
    );
    expect(out).toEqual({ accept: 'application/json', 'x-forwarded-for': '10.0.0.1', 'x-forwarded-proto': 'http', 'x-forwarded-host': 'api.example', 'x-auth-sub': 'u-1' });
  });

  it('when a trusted proxy is in front, then X-Forwarded-For is appended to', () => {
    const out = upstreamRequestHeaders({ 'x-forwarded-for': '1.2.3.4' }, { clientIp: '1.2.3.4', trustProxyHops: 1, proto: 'https', set: {} });
    expect(out['x-forwarded-for']).toBe('1.2.3.4, 1.2.3.4');
  });
});

describe('clientResponseHeaders', () => {
  it('when the upstream answers with hop-by-hop headers, then they are dropped', () => {
    expect(clientResponseHeaders({ connection: 'close, x-internal', 'x-internal': 'a', 'transfer-encoding': 'chunked', 'content-type': 'text/plain' })).toEqual({ 'content-type': 'text/plain' });
    expect(clientResponseHeaderList({ connection: 'close, x-internal', 'x-internal': 'a', 'transfer-encoding': 'chunked', 'content-type': 'text/plain', 'set-cookie': ['a=1', 'b=2'] })).toEqual(['content-type', 'text/plain', 'set-cookie', ['a=1', 'b=2']]);
  });
});

describe('clientIpOf', () => {
  it('when no proxy is trusted, then the socket peer is the client whatever X-Forwarded-For says', () => {
    expect(clientIpOf('::ffff:10.0.0.9', '6.6.6.6', 0)).toBe('10.0.0.9');
    expect(clientIpOf('10.0.0.2', '6.6.6.6, 7.7.7.7', 1)).toBe('7.7.7.7');
  });
});
