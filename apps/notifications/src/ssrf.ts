/**
 * SSRF guard for webhook endpoints. Checked twice: at registration (the URL
 * and whatever it resolves to now) and at delivery time after DNS resolution
 * (the address actually connected to), so DNS rebinding cannot slip through.
 *
 * Addresses are classified by ipaddr.js's tables of the IANA IPv4 and IPv6
 * special-purpose registries (`range()`); only `unicast` is a target, and for
 * IPv6 only global unicast (2000::/3). An IPv6 address that carries an IPv4
 * address (IPv4-mapped, IPv4-translated, IPv4-compatible, NAT64 64:ff9b::/96,
 * 6to4, Teredo) is judged by the IPv4 address it reaches; the tunnelling and
 * deprecated forms are refused whatever they carry.
 */
import { isIP } from 'node:net';
import { lookup } from 'node:dns/promises';
import ipaddr from 'ipaddr.js';
import { notificationsError } from './errors.ts';

export interface SsrfPolicy {
  /** Allow loopback targets (127.0.0.0/8, ::1); tests and local dev only. */
  allowLoopback?: boolean;
  /** Allow RFC 1918 / ULA / link-local / shared (100.64.0.0/10) targets; trusted networks only. */
  allowPrivate?: boolean;
}

const PRIVATE_RANGES = new Set(['private', 'linkLocal', 'carrierGradeNat', 'uniqueLocal']);
const GLOBAL_UNICAST = ipaddr.IPv6.parseCIDR('2000::/3');

function ipv4Reason(v4: ipaddr.IPv4, policy: SsrfPolicy): string | undefined {
  const range = v4.range();
  if (range === 'unicast') return undefined;
  if (range === 'loopback') return policy.allowLoopback ? undefined : 'loopback address';
  if (PRIVATE_RANGES.has(range)) return policy.allowPrivate ? undefined : 'private or link-local address';
  return `special-purpose address (${range})`;
}

function fromParts(hi: number, lo: number): ipaddr.IPv4 {
  return new ipaddr.IPv4([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff]);
}

/** The IPv4 address an IPv6 form carries and the form's name, or undefined. */
export function embeddedIPv4(v6: ipaddr.IPv6): { form: string; v4: ipaddr.IPv4; tunnel: boolean } | undefined {
  const p = v6.parts;
  const range = v6.range();
  if (range === 'ipv4Mapped' || range === 'rfc6145') return { form: range === 'ipv4Mapped' ? 'IPv4-mapped' : 'IPv4-translated', v4: fromParts(p[6]!, p[7]!), tunnel: false };
  if (range === 'rfc6052' && p[2] === 0) return { form: 'NAT64', v4: fromParts(p[6]!, p[7]!), tunnel: false };
  if (range === '6to4') return { form: '6to4', v4: fromParts(p[1]!, p[2]!), tunnel: true };
  // Teredo: the client's IPv4 is the last 32 bits inverted (RFC 4380).
  if (range === 'teredo') return { form: 'Teredo', v4: fromParts(p[6]! ^ 0xffff, p[7]! ^ 0xffff), tunnel: true };
  if (p.slice(0, 6).every((x) => x === 0) && (p[6] !== 0 || p[7]! > 1)) return { form: 'IPv4-compatible', v4: fromParts(p[6]!, p[7]!), tunnel: true };
  return undefined;
}

function canonicalIPv6(address: string): string | undefined {
  try {
    return new URL(`http://[${address}]/`).hostname.slice(1, -1);
  } catch {
    return undefined; // a zone id (fe80::1%eth0) or another form no URL can carry
  }
}

/** Why an address is not allowed under the policy, or undefined if it is. */
export function forbiddenReason(address: string, policy: SsrfPolicy = {}): string | undefined {
  const family = isIP(address);
  if (family === 4) return ipv4Reason(ipaddr.IPv4.parse(address), policy);
  // ipaddr.js reads `::a.b.c.d` as IPv4-mapped; the WHATWG URL serialiser writes every IPv6 form as plain hex groups.
  const canonical = family === 6 ? canonicalIPv6(address) : undefined;
  if (canonical === undefined) return 'not an IP address';
  const v6 = ipaddr.IPv6.parse(canonical);
  const embedded = embeddedIPv4(v6);
  if (embedded) {
    const reason = ipv4Reason(embedded.v4, policy);
    if (reason !== undefined) return `${reason} ${embedded.v4.toString()} in ${embedded.form} form`;
    return embedded.tunnel ? `special-purpose address (${embedded.form})` : undefined;
  }
  const range = v6.range();
  if (range === 'loopback') return policy.allowLoopback ? undefined : 'loopback address';
  if (PRIVATE_RANGES.has(range)) return policy.allowPrivate ? undefined : 'private or link-local address';
  if (range !== 'unicast') return `special-purpose address (${range})`;
  if (!v6.match(GLOBAL_UNICAST)) return 'not a global unicast address';
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
  const host = hostOf(url);
  if (isIP(host) === 0 && !isDnsName(host)) {
    throw notificationsError('NOTIFICATIONS_INVALID_URL', 'endpoint host is not a DNS name (at most 253 characters, labels of 1 to 63)', { host: host.slice(0, 300) });
  }
  return url;
}

/** RFC 1035 lengths (the URL parser has already made the name ASCII); getaddrinfo answers a longer name with EINVAL. */
function isDnsName(host: string): boolean {
  const name = host.endsWith('.') ? host.slice(0, -1) : host;
  return name.length > 0 && name.length <= 253 && name.split('.').every((label) => label.length > 0 && label.length <= 63);
}

function hostOf(url: URL): string {
  return url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
}

/** DNS answers that say the name does not exist, has no address or cannot be a name: the caller's input, 422. */
const NO_SUCH_HOST = new Set(['ENOTFOUND', 'ENODATA', 'ENONAME', 'EINVAL']);

async function resolveHost(host: string): Promise<string[]> {
  try {
    return (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== undefined && NO_SUCH_HOST.has(code)) throw notificationsError('NOTIFICATIONS_HOST_UNRESOLVABLE', `endpoint host ${host} does not resolve to an address`, { host, dnsCode: code });
    throw notificationsError('NOTIFICATIONS_DNS_UNAVAILABLE', `resolving ${host} failed (${code ?? 'unknown error'}); try again`, { host, dnsCode: code ?? null });
  }
}

/**
 * Resolve the URL's host and check every address; returns the first allowed
 * address so the caller can connect to exactly that one (no second lookup).
 */
export async function resolveAllowed(url: URL, policy: SsrfPolicy = {}): Promise<string> {
  const host = hostOf(url);
  const addresses = isIP(host) !== 0 ? [host] : await resolveHost(host);
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
