/**
 * SSRF guard for webhook endpoints. Checked twice: at registration (the URL
 * and whatever it resolves to now) and at delivery time after DNS resolution
 * (the address actually connected to), so DNS rebinding cannot slip through.
 */
import { BlockList, isIP } from 'node:net';
import { lookup } from 'node:dns/promises';
import { notificationsError } from './errors.ts';

export interface SsrfPolicy {
  /** Allow loopback targets (127.0.0.0/8, ::1); tests and local dev only. */
  allowLoopback?: boolean;
  /** Allow RFC 1918 / ULA / link-local targets; trusted networks only. */
  allowPrivate?: boolean;
}

const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

const privateRanges = new BlockList();
for (const [net, prefix] of [['10.0.0.0', 8], ['172.16.0.0', 12], ['192.168.0.0', 16], ['169.254.0.0', 16], ['100.64.0.0', 10]] as const) {
  privateRanges.addSubnet(net, prefix, 'ipv4');
}
privateRanges.addSubnet('fc00::', 7, 'ipv6');
privateRanges.addSubnet('fe80::', 10, 'ipv6');

const alwaysForbidden = new BlockList();
for (const [net, prefix] of [['0.0.0.0', 8], ['224.0.0.0', 4], ['240.0.0.0', 4]] as const) {
  alwaysForbidden.addSubnet(net, prefix, 'ipv4');
}
alwaysForbidden.addAddress('::', 'ipv6');
alwaysForbidden.addSubnet('ff00::', 8, 'ipv6');

/** Why an address is not allowed under the policy, or undefined if it is. */
export function forbiddenReason(address: string, policy: SsrfPolicy = {}): string | undefined {
  let family = isIP(address);
  if (family === 0) return 'not an IP address';
  let addr = address;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(addr);
  if (mapped) {
    addr = mapped[1]!;
    family = 4;
  }
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (alwaysForbidden.check(addr, type)) return 'unspecified/multicast/reserved address';
  if (loopback.check(addr, type)) return policy.allowLoopback ? undefined : 'loopback address';
  if (privateRanges.check(addr, type)) return policy.allowPrivate ? undefined : 'private or link-local address';
  return undefined;
}

/** Parse and check the shape of an endpoint URL (no DNS). */
export function parseEndpointUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw notificationsError('NOTIFICATIONS_INVALID_URL', 'endpoint URL is not a valid absolute URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw notificationsError('NOTIFICATIONS_INVALID_URL', 'endpoint URL must use http or https', { protocol: url.protocol });
  }
  if (url.username !== '' || url.password !== '') {
    throw notificationsError('NOTIFICATIONS_INVALID_URL', 'endpoint URL must not carry credentials');
  }
  return url;
}

function hostOf(url: URL): string {
  return url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
}

/**
 * Resolve the URL's host and check every address; returns the first allowed
 * address so the caller can connect to exactly that one (no second lookup).
 */
export async function resolveAllowed(url: URL, policy: SsrfPolicy = {}): Promise<string> {
  const host = hostOf(url);
  const addresses = isIP(host) !== 0 ? [host] : (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);
  for (const address of addresses) {
    const reason = forbiddenReason(address, policy);
    if (reason !== undefined) {
      throw notificationsError('NOTIFICATIONS_URL_FORBIDDEN', `endpoint resolves to a forbidden address (${reason})`, { host });
    }
  }
  return addresses[0]!;
}

/** Registration-time check: shape plus resolution. */
export async function checkEndpointUrl(raw: string, policy: SsrfPolicy = {}): Promise<URL> {
  const url = parseEndpointUrl(raw);
  await resolveAllowed(url, policy);
  return url;
}
