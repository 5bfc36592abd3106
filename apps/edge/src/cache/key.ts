/**
 * Cache keys: one spelling per resource, so that `?b=2&a=1` and `?a=1&b=2`,
 * or `Example.COM` and `example.com`, share one entry. The key is the
 * lower-cased host (default port dropped), the path as sent, and the query
 * parameters sorted by name, then value (their order within a name kept by a
 * stable sort). HEAD reads GET's entry.
 */

/** The normalised key of a request for `url` (path and query as sent) on `host`. */
export function cacheKey(host: string | undefined, url: string): string {
  const h = normaliseHost(host);
  const q = url.indexOf('?');
  if (q < 0) return `${h}${url}`;
  const path = url.slice(0, q);
  const query = url.slice(q + 1);
  if (query === '') return `${h}${path}`;
  const pairs = query.split('&').filter((p) => p !== '');
  if (pairs.length === 0) return `${h}${path}`;
  if (pairs.length > 1) pairs.sort(comparePairs);
  return `${h}${path}?${pairs.join('&')}`;
}

/** The path and sorted query of a key (what goes to the origin). */
export function pathOfKey(key: string): string {
  const slash = key.indexOf('/');
  return slash < 0 ? '/' : key.slice(slash);
}

function normaliseHost(host: string | undefined): string {
  if (!host) return '';
  const lower = host.toLowerCase();
  if (lower.endsWith(':80')) return lower.slice(0, -3);
  if (lower.endsWith(':443')) return lower.slice(0, -4);
  return lower;
}

function comparePairs(a: string, b: string): number {
  const ea = a.indexOf('=');
  const eb = b.indexOf('=');
  const na = ea < 0 ? a : a.slice(0, ea);
  const nb = eb < 0 ? b : b.slice(0, eb);
  if (na !== nb) return na < nb ? -1 : 1;
  return 0; // same name: keep their order (Array.prototype.sort is stable)
}
