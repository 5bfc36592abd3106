/**
 * MurmurHash3 x86 32-bit over the UTF-8 bytes of a string. Chosen for sticky
 * bucketing: well distributed, the same in every language (the OFREP clients'
 * SDKs can reproduce a bucket), and ~10× cheaper than a SHA-256 prefix per
 * evaluation. Not a security hash: nobody gains by choosing their bucket.
 */

const encoder = new TextEncoder();
let scratch = new Uint8Array(256);

export function murmur3(text: string, seed = 0): number {
  if (text.length * 3 > scratch.length) scratch = new Uint8Array(text.length * 3);
  const length = encoder.encodeInto(text, scratch).written;
  const bytes = scratch;
  let h = seed >>> 0;
  const blocks = length & ~3;
  for (let i = 0; i < blocks; i += 4) {
    let k = bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const tail = length & 3;
  if (tail > 0) {
    let k = 0;
    if (tail === 3) k ^= bytes[blocks + 2]! << 16;
    if (tail >= 2) k ^= bytes[blocks + 1]! << 8;
    k ^= bytes[blocks]!;
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
  }
  h ^= length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Buckets per rollout: weights have 3 decimals of a percent. */
export const BUCKETS = 100_000;

/** The sticky bucket (0–99,999) of a targeting key for a flag's salt. */
export function bucketOf(salt: string, targetingKey: string): number {
  // h / 2^32 scaled to BUCKETS: uniform, unlike h % BUCKETS (2^32 is not a multiple of 100,000).
  return Math.floor((murmur3(`${salt}.${targetingKey}`) / 4_294_967_296) * BUCKETS);
}
