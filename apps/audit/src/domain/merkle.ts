/**
 * The Merkle tree of RFC 9162 §2.1 over the audit log's entries: leaf hash
 * SHA-256(0x00 || entry), node hash SHA-256(0x01 || left || right), and the
 * RFC's split at the largest power of two below n for sizes that are not
 * powers of two. Inclusion proofs (§2.1.3) and consistency proofs (§2.1.4)
 * are made from the leaf hashes of the tree and verified with the RFC's
 * iterative algorithms. The frontier (the roots of the perfect subtrees
 * that make up a tree, one per set bit of its size) lets an append compute
 * the new root in O(log n) without reading old leaves. Pure functions.
 */
import { createHash } from 'node:crypto';

export const HASH_BYTES = 32;

const LEAF_PREFIX = Buffer.from([0x00]);
const NODE_PREFIX = Buffer.from([0x01]);

/** MTH of the empty tree: SHA-256 of nothing. */
export const EMPTY_ROOT = createHash('sha256').digest();

export function leafHash(entry: Uint8Array): Buffer {
  return createHash('sha256').update(LEAF_PREFIX).update(entry).digest();
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  return createHash('sha256').update(NODE_PREFIX).update(left).update(right).digest();
}

/** Largest power of two strictly below n (n > 1). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** MTH(D[start:end]) from the leaf hashes. */
export function subtreeRoot(leaves: readonly Uint8Array[], start = 0, end = leaves.length): Buffer {
  const n = end - start;
  if (n === 0) return EMPTY_ROOT;
  if (n === 1) return Buffer.from(leaves[start]!);
  const k = splitPoint(n);
  return nodeHash(subtreeRoot(leaves, start, start + k), subtreeRoot(leaves, start + k, end));
}

/**
 * The roots of the perfect subtrees of a tree of `size` leaves, indexed by
 * height: `frontier[h]` is set exactly when bit h of size is.
 */
export type Frontier = (Buffer | null)[];

/** Appends one leaf hash to the frontier of a tree of `size` leaves; returns the frontier of size + 1. */
export function appendToFrontier(frontier: Frontier, size: number, leaf: Buffer): Frontier {
  const next = frontier.slice();
  let carry = leaf;
  let height = 0;
  let rest = size;
  while (rest % 2 === 1) {
    carry = nodeHash(next[height]!, carry);
    next[height] = null;
    rest = Math.floor(rest / 2);
    height++;
  }
  next[height] = carry;
  return next;
}

/** MTH of the tree the frontier describes (the RFC's tree: lowest subtree first, folded to the left). */
export function frontierRoot(frontier: Frontier): Buffer {
  let root: Buffer | undefined;
  for (const node of frontier) {
    if (!node) continue;
    root = root ? nodeHash(node, root) : node;
  }
  return root ?? EMPTY_ROOT;
}

/** PATH(m, D[start:end]) of RFC 9162 §2.1.3.1: the audit path of leaf `index` in the tree of the first `size` leaves. */
export function inclusionProof(leaves: readonly Uint8Array[], index: number, size = leaves.length): Buffer[] {
  if (!(index >= 0 && index < size && size <= leaves.length)) throw new RangeError(`leaf ${index} is not in a tree of ${size}`);
  const path = (m: number, start: number, end: number): Buffer[] => {
    const n = end - start;
    if (n === 1) return [];
    const k = splitPoint(n);
    if (m < k) return [...path(m, start, start + k), subtreeRoot(leaves, start + k, end)];
    return [...path(m - k, start + k, end), subtreeRoot(leaves, start, start + k)];
  };
  return path(index, 0, size);
}

/** PROOF(m, D[n]) of RFC 9162 §2.1.4.1: that the tree of `oldSize` leaves is a prefix of the tree of `newSize`. */
export function consistencyProof(leaves: readonly Uint8Array[], oldSize: number, newSize = leaves.length): Buffer[] {
  if (!(oldSize >= 0 && oldSize <= newSize && newSize <= leaves.length)) throw new RangeError(`no consistency proof from ${oldSize} to ${newSize}`);
  if (oldSize === 0 || oldSize === newSize) return [];
  const subproof = (m: number, start: number, end: number, complete: boolean): Buffer[] => {
    const n = end - start;
    if (m === n) return complete ? [] : [subtreeRoot(leaves, start, end)];
    const k = splitPoint(n);
    if (m <= k) return [...subproof(m, start, start + k, complete), subtreeRoot(leaves, start + k, end)];
    return [...subproof(m - k, start + k, end, false), subtreeRoot(leaves, start, start + k)];
  };
  return subproof(oldSize, 0, newSize, true);
}

/** RFC 9162 §2.1.3.2: whether `path` proves leaf `index` (with `leaf` hash) in the tree of `size` with `root`. */
export function verifyInclusion(leaf: Uint8Array, index: number, size: number, path: readonly Uint8Array[], root: Uint8Array): boolean {
  if (index >= size) return false;
  let fn = index;
  let sn = size - 1;
  let r: Buffer = Buffer.from(leaf);
  for (const p of path) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && r.equals(root);
}

/** RFC 9162 §2.1.4.2: whether `proof` shows the tree (oldSize, oldRoot) is a prefix of (newSize, newRoot). */
export function verifyConsistency(oldSize: number, oldRoot: Uint8Array, newSize: number, newRoot: Uint8Array, proof: readonly Uint8Array[]): boolean {
  if (oldSize > newSize) return false;
  if (oldSize === newSize) return proof.length === 0 && Buffer.from(oldRoot).equals(newRoot);
  if (oldSize === 0) return proof.length === 0;
  let path = proof.map((p) => Buffer.from(p));
  if (isPowerOfTwo(oldSize)) path = [Buffer.from(oldRoot), ...path];
  if (path.length === 0) return false;
  let fn = oldSize - 1;
  let sn = newSize - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr: Buffer = path[0]!;
  let sr: Buffer = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return fr.equals(oldRoot) && sr.equals(newRoot) && sn === 0;
}

function isPowerOfTwo(n: number): boolean {
  return n > 0 && (n & (n - 1)) === 0;
}
