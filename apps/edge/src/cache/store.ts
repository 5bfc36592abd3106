/**
 * The edge's memory store: full response bodies keyed by the normalised
 * cache key, each key holding one variant per set of request values its
 * response's Vary names; a byte bound enforced by LRU over keys (lru-cache,
 * `maxSize`), and an index from surrogate keys (tags) to cache keys so that
 * one purge drops every object tagged with it.
 */
import { brotliCompress, constants as zlibConstants, gzip } from 'node:zlib';
import { promisify } from 'node:util';
import type CachePolicy from 'http-cache-semantics';
import { LRUCache } from 'lru-cache';
import type { Coding } from './encoding.ts';

const brotli = promisify(brotliCompress);
const gzipAsync = promisify(gzip);

/** One stored response: its policy (RFC 9111 state), body and what it is tagged with. */
export interface Variant {
  policy: CachePolicy;
  status: number;
  body: Buffer;
  /** The response's Vary fields (lower case, accept-encoding left out: the edge codes bodies itself). */
  varyFields: readonly string[];
  /** The request's values of those fields, in order. */
  varyValues: readonly string[];
  surrogateKeys: readonly string[];
  etag: string | undefined;
  lastModified: string | undefined;
  contentType: string | undefined;
  /** The response's stale-if-error window (0 with must-revalidate). */
  staleIfErrorSeconds: number;
  /** Codings made so far (promise while compressing: concurrent first requests share it). */
  encoded: Partial<Record<Exclude<Coding, 'identity'>, Promise<Buffer>>>;
  encodedBytes: number;
}

interface Entry {
  variants: Variant[];
}

/** Bytes counted per variant beyond its body (policy, headers, bookkeeping). */
const VARIANT_OVERHEAD = 1_024;
/** Variants kept per key (Vary on a header with many values must not grow one key without bound). */
const MAX_VARIANTS = 8;

export interface EdgeStoreOptions {
  maxBytes: number;
  /** Called when an object leaves (evicted, purged, replaced): metrics. */
  onEvict?: (reason: 'evict' | 'delete' | 'set') => void;
}

export class EdgeStore {
  readonly #lru: LRUCache<string, Entry>;
  readonly #tags = new Map<string, Set<string>>();

  constructor(options: EdgeStoreOptions) {
    this.#lru = new LRUCache<string, Entry>({
      maxSize: options.maxBytes,
      sizeCalculation: (entry) => Math.max(1, entry.variants.reduce((n, v) => n + v.body.length + v.encodedBytes + VARIANT_OVERHEAD, 0)),
      dispose: (entry, key, reason) => {
        this.#untag(key, entry);
        options.onEvict?.(reason === 'evict' ? 'evict' : reason === 'set' ? 'set' : 'delete');
      },
    });
  }

  /** The variant of `key` whose Vary values match the request's headers. */
  lookup(key: string, headers: Readonly<Record<string, string | string[] | undefined>>): Variant | undefined {
    const entry = this.#lru.get(key);
    if (!entry) return undefined;
    for (const v of entry.variants) if (varyMatches(v, headers)) return v;
    return undefined;
  }

  /** Stores `variant` under `key`, replacing the variant with the same Vary values. */
  put(key: string, variant: Variant): void {
    const old = this.#lru.peek(key);
    const variants = old ? old.variants.filter((v) => !sameVary(v, variant)) : [];
    variants.unshift(variant);
    if (variants.length > MAX_VARIANTS) variants.length = MAX_VARIANTS;
    this.#lru.set(key, { variants });
    for (const tag of variants.flatMap((v) => v.surrogateKeys)) {
      let keys = this.#tags.get(tag);
      if (!keys) this.#tags.set(tag, (keys = new Set()));
      keys.add(key);
    }
  }

  /** The body of `variant` in `coding`, compressed once and kept (its bytes count toward the bound). */
  async encoded(key: string, variant: Variant, coding: Exclude<Coding, 'identity'>): Promise<Buffer> {
    let pending = variant.encoded[coding];
    if (!pending) {
      pending = coding === 'br' ? brotli(variant.body, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 5, [zlibConstants.BROTLI_PARAM_SIZE_HINT]: variant.body.length } }) : gzipAsync(variant.body, { level: 6 });
      variant.encoded[coding] = pending;
      const done = await pending;
      variant.encodedBytes += done.length;
      // Re-set so the LRU counts the new bytes (only if the entry still holds this variant).
      const entry = this.#lru.peek(key);
      if (entry?.variants.includes(variant)) this.#lru.set(key, entry, { noDisposeOnSet: true });
      return done;
    }
    return pending;
  }

  /** Drops every object tagged `tag`; returns how many keys went. */
  purgeTag(tag: string): number {
    const keys = this.#tags.get(tag);
    if (!keys) return 0;
    let n = 0;
    for (const key of [...keys]) if (this.#lru.delete(key)) n++;
    this.#tags.delete(tag);
    return n;
  }

  /** Drops one key (every variant). */
  delete(key: string): boolean {
    return this.#lru.delete(key);
  }

  clear(): void {
    this.#lru.clear();
    this.#tags.clear();
  }

  get bytes(): number {
    return this.#lru.calculatedSize;
  }

  get objects(): number {
    return this.#lru.size;
  }

  #untag(key: string, entry: Entry): void {
    for (const v of entry.variants) {
      for (const tag of v.surrogateKeys) {
        const keys = this.#tags.get(tag);
        if (!keys) continue;
        keys.delete(key);
        if (keys.size === 0) this.#tags.delete(tag);
      }
    }
  }
}

/** The Vary fields of a response that the edge keys on (accept-encoding is the edge's own business); undefined for `Vary: *` (never stored). */
export function varyFieldsOf(vary: string | undefined): string[] | undefined {
  if (!vary) return [];
  const fields = vary.toLowerCase().split(',').map((f) => f.trim()).filter((f) => f !== '' && f !== 'accept-encoding');
  return fields.includes('*') ? undefined : fields;
}

export function varyValuesOf(fields: readonly string[], headers: Readonly<Record<string, string | string[] | undefined>>): string[] {
  return fields.map((f) => headerText(headers[f]));
}

function headerText(value: string | string[] | undefined): string {
  return value === undefined ? '' : Array.isArray(value) ? value.join(', ') : value;
}

function varyMatches(v: Variant, headers: Readonly<Record<string, string | string[] | undefined>>): boolean {
  for (let i = 0; i < v.varyFields.length; i++) if (headerText(headers[v.varyFields[i]!]) !== v.varyValues[i]) return false;
  return true;
}

function sameVary(a: Variant, b: Variant): boolean {
  return a.varyFields.join(',') === b.varyFields.join(',') && a.varyValues.join('\n') === b.varyValues.join('\n');
}
