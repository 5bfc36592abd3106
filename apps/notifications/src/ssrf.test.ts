import { describe, expect, it } from '@jest/globals';
import { forbiddenReason, parseEndpointUrl, checkEndpointUrl } from './ssrf.ts';

const permissive = { allowLoopback: true, allowPrivate: true };

describe('forbiddenReason', () => {
  it.each(['127.0.0.1', '127.9.9.9', '::1', '::ffff:127.0.0.1'])('rejects loopback %s by default', (a) => {
    expect(forbiddenReason(a)).toMatch(/^loopback address/);
  });
  it.each(['10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', 'fd00::1', 'fe80::1', '100.64.0.1', '100.127.255.254'])('rejects private %s', (a) => {
    expect(forbiddenReason(a)).toBe('private or link-local address');
  });

  // IANA IPv4 special-purpose registry, multicast and broadcast: refused whatever the policy allows.
  it.each([
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['192.0.0.8', 'reserved'],
    ['192.0.0.170', 'reserved'],
    ['192.0.2.1', 'reserved'],
    ['192.31.196.1', 'as112'],
    ['192.52.193.1', 'amt'],
    ['192.88.99.1', 'reserved'],
    ['192.175.48.1', 'as112'],
    ['198.18.0.1', 'reserved'],
    ['198.19.255.254', 'reserved'],
    ['198.51.100.7', 'reserved'],
    ['203.0.113.9', 'reserved'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.255', 'broadcast'],
  ])('always rejects IPv4 %s (%s)', (a, range) => {
    expect(forbiddenReason(a, permissive)).toBe(`special-purpose address (${range})`);
  });

  // IANA IPv6 special-purpose registry and everything outside global unicast.
  it.each([
    ['::', 'unspecified'],
    ['ff02::1', 'multicast'],
    ['ff0e::1', 'multicast'],
    ['100::1', 'discard'],
    ['64:ff9b:1::a00:1', 'rfc6052'],
    ['2001:2::1', 'benchmarking'],
    ['2001:3::1', 'amt'],
    ['2001:4:112::1', 'as112v6'],
    ['2001:10::1', 'deprecatedOrchid'],
    ['2001:20::1', 'orchid2'],
    ['2001:30::1', 'droneRemoteIdProtocolEntityTags'],
    ['2001:1::1', 'reserved'],
    ['2001:db8::1', 'reserved'],
    ['3fff::1', 'reserved'],
    ['2620:4f:8000::1', 'as112v6'],
    ['5f00::1', 'segmentRouting'],
    ['fec0::1', 'deprecatedSiteLocal'],
  ])('always rejects IPv6 %s (%s)', (a, range) => {
    expect(forbiddenReason(a, permissive)).toBe(`special-purpose address (${range})`);
  });
  it.each(['4000::1', '1::1', 'e000::1'])('rejects %s outside global unicast 2000::/3', (a) => {
    expect(forbiddenReason(a, permissive)).toBe('not a global unicast address');
  });

  // 169.254.169.254 (cloud metadata) and other non-public IPv4 addresses inside every IPv6 form that carries IPv4.
  it.each([
    ['::ffff:169.254.169.254', 'IPv4-mapped'],
    ['::ffff:a9fe:a9fe', 'IPv4-mapped'],
    ['::ffff:0:a9fe:a9fe', 'IPv4-translated'],
    ['::a9fe:a9fe', 'IPv4-compatible'],
    ['::169.254.169.254', 'IPv4-compatible'],
    ['64:ff9b::a9fe:a9fe', 'NAT64'],
    ['64:ff9b::169.254.169.254', 'NAT64'],
    ['2002:a9fe:a9fe::1', '6to4'],
    ['2001:0:4136:e378:8000:63bf:5601:5601', 'Teredo'], // client 169.254.169.254 (inverted bits)
  ])('rejects 169.254.169.254 embedded in %s (%s)', (a, form) => {
    expect(forbiddenReason(a)).toBe(`private or link-local address 169.254.169.254 in ${form} form`);
  });
  it.each([
    ['::ffff:7f00:1', 'loopback address 127.0.0.1 in IPv4-mapped form'],
    ['64:ff9b::7f00:1', 'loopback address 127.0.0.1 in NAT64 form'],
    ['64:ff9b::c000:201', 'special-purpose address (reserved) 192.0.2.1 in NAT64 form'],
    ['::ffff:c612:1', 'special-purpose address (reserved) 198.18.0.1 in IPv4-mapped form'],
    ['2002:a00:1::', 'private or link-local address 10.0.0.1 in 6to4 form'],
    ['::ffff:0.0.0.0', 'special-purpose address (unspecified) 0.0.0.0 in IPv4-mapped form'],
  ])('judges %s by the IPv4 address it carries', (a, reason) => {
    expect(forbiddenReason(a)).toBe(reason);
  });
  it.each([
    ['2002:808:808::1', '6to4'],
    ['2001:0:4136:e378:8000:63bf:f7f7:f7f7', 'Teredo'], // client 8.8.8.8
    ['::808:808', 'IPv4-compatible'],
    ['::8.8.8.8', 'IPv4-compatible'],
  ])('rejects the tunnelling or deprecated form %s even around a public IPv4 (%s)', (a, form) => {
    expect(forbiddenReason(a, permissive)).toBe(`special-purpose address (${form})`);
  });

  it.each(['8.8.8.8', '172.32.0.1', '192.0.1.1', '198.20.0.1', '2606:4700::1111', '2a00:1450:4001::200e', '::ffff:8.8.8.8', '64:ff9b::808:808'])('allows public %s', (a) => {
    expect(forbiddenReason(a)).toBeUndefined();
  });
  it('allows loopback only when configured, private only when configured', () => {
    expect(forbiddenReason('127.0.0.1', { allowLoopback: true })).toBeUndefined();
    expect(forbiddenReason('::ffff:127.0.0.1', { allowLoopback: true })).toBeUndefined();
    expect(forbiddenReason('10.0.0.1', { allowLoopback: true })).toBe('private or link-local address');
    expect(forbiddenReason('fd00::1', { allowPrivate: true })).toBeUndefined();
    expect(forbiddenReason('64:ff9b::a00:1', { allowPrivate: true })).toBeUndefined();
  });
  it.each(['example.com', '1.2.3', '', '::ffff:1.2.3.4.5'])('refuses %j as not an IP address', (a) => {
    expect(forbiddenReason(a, permissive)).toBe('not an IP address');
  });
});

describe('parseEndpointUrl', () => {
  it.each(['not a url', 'ftp://example.com/x', 'file:///etc/passwd', 'http://user:pw@example.com/'])('rejects %s with a 422', (raw) => {
    expect(() => parseEndpointUrl(raw)).toThrow(expect.objectContaining({ code: 'NOTIFICATIONS_INVALID_URL', status: 422 }));
  });
  it('accepts https URLs', () => {
    expect(parseEndpointUrl('https://example.com/hook').hostname).toBe('example.com');
  });
  it.each([`http://${'a'.repeat(64)}.example/`, `http://${`${'a'.repeat(60)}.`.repeat(5)}example/`, 'http://foo..example/'])('rejects a host that cannot be a DNS name (%s) with a 422, not the 503 its EINVAL lookup was', (raw) => {
    expect(() => parseEndpointUrl(raw)).toThrow(expect.objectContaining({ code: 'NOTIFICATIONS_INVALID_URL', status: 422 }));
  });
  it.each([`http://${'a'.repeat(63)}.example/`, 'http://example.com./', 'http://bücher.example/'])('accepts the DNS name in %s', (raw) => {
    expect(parseEndpointUrl(raw)).toBeInstanceOf(URL);
  });
});

describe('checkEndpointUrl', () => {
  it.each([
    'http://localhost:9/hook',
    'http://[::1]/hook',
    'http://169.254.169.254/latest/meta-data',
    'http://[64:ff9b::a9fe:a9fe]/',
    'http://[::a9fe:a9fe]/',
    'http://[::ffff:169.254.169.254]/',
    'http://[2002:a9fe:a9fe::]/',
    'http://198.18.0.1/',
    'http://192.0.2.10/',
    'http://0x7f.1/',
    'http://2130706433/',
  ])('rejects %s as forbidden', async (raw) => {
    await expect(checkEndpointUrl(raw)).rejects.toMatchObject({ code: 'NOTIFICATIONS_URL_FORBIDDEN', status: 422 });
  });
  it('accepts loopback when explicitly allowed', async () => {
    await expect(checkEndpointUrl('http://127.0.0.1:9/hook', { allowLoopback: true })).resolves.toBeInstanceOf(URL);
  });
  it('answers a host name DNS does not know with 422 NOTIFICATIONS_HOST_UNRESOLVABLE (RFC 6761 .invalid never resolves)', async () => {
    await expect(checkEndpointUrl('http://no-such-host.invalid/hook')).rejects.toMatchObject({ code: 'NOTIFICATIONS_HOST_UNRESOLVABLE', status: 422 });
  });
});
