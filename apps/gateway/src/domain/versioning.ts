/**
 * API version lifecycle: the `Deprecation` (RFC 9745), `Sunset` (RFC 8594)
 * and `Link: rel="successor-version"` headers of a route, the 410 of a retired
 * one, and the bounded client label of the per-version call metric.
 */
import type { AppError } from '@bulwark/errors';
import { gatewayError } from '../errors.ts';
import type { RouteConfig } from './routes-file.ts';

export interface Lifecycle {
  headers: Record<string, string>;
  /** Set when the route is retired: answer this instead of proxying. */
  retired: AppError | undefined;
}

const NONE: Lifecycle = Object.freeze({ headers: {}, retired: undefined }) as Lifecycle;

/** Precomputed once per route. */
export function lifecycleOf(route: RouteConfig): Lifecycle {
  const l = route.lifecycle;
  if (!l) return NONE;
  const headers: Record<string, string> = {};
  if (l.deprecated !== undefined) headers.deprecation = l.deprecated === true ? '@0' : `@${Math.floor(Date.parse(l.deprecated) / 1000)}`;
  if (l.sunset !== undefined) headers.sunset = new Date(l.sunset).toUTCString();
  if (l.successor !== undefined) headers.link = `<${l.successor}>; rel="successor-version"`;
  const retired = l.retired
    ? gatewayError('VERSION_RETIRED', `${route.version ?? 'this version'} of this API is retired; use ${l.successor}`, { extensions: { successor: l.successor }, headers })
    : undefined;
  return { headers, retired };
}

/**
 * Bounded client labels: configured known clients always keep their name;
 * the first `maxClients` others seen by this process get theirs too; every
 * later one is "other", anonymous callers "anonymous". Cardinality is at
 * most known + maxClients + 2 per version.
 */
export class ClientLabels {
  readonly #known: ReadonlySet<string>;
  readonly #seen = new Set<string>();
  readonly #max: number;

  constructor(known: readonly string[], maxClients: number) {
    this.#known = new Set(known);
    this.#max = maxClients;
  }

  labelOf(client: string | undefined): string {
    if (client === undefined) return 'anonymous';
    if (this.#known.has(client) || this.#seen.has(client)) return client;
    if (this.#seen.size < this.#max) {
      this.#seen.add(client);
      return client;
    }
    return 'other';
  }
}
