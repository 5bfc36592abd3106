/**
 * The verifier: replays the log from its first entry and names the first
 * entry that is not what the log key signed. Per row in seq order: the seq
 * follows the previous one (a gap is a deleted entry), the body names the
 * same seq (a moved entry: reordered, or renumbered around an insertion or
 * deletion), the body hashes to the stored leaf hash (a changed body), the
 * chain hash follows (a broken chain), the entry timestamp verifies with a
 * trusted key over the recomputed leaf and chain hashes (an entry rewritten
 * with its hashes by someone without the key, or inserted), and at each
 * signed tree head's size the recomputed Merkle root and chain head are the
 * signed ones. A signed tree head beyond the last row means entries were
 * cut off the end. Trusts only the public keys it is given, never the
 * database.
 */
import { chainHash, entryTimestampText, GENESIS_CHAIN, treeHeadText } from './entry.ts';
import { appendToFrontier, frontierRoot, leafHash, type Frontier } from './merkle.ts';
import { EVENT_CLASSES } from './event-classes.ts';
import type { LogVerifierKey } from './signing-key.ts';
import type { EntryRow, TreeHeadRow } from '../store/log-store.ts';

export type Finding = 'deleted' | 'moved' | 'changed' | 'redacted-early' | 'chain-broken' | 'not-signed' | 'tree-head-mismatch' | 'tree-head-not-signed' | 'truncated';

export type VerifyResult =
  | { ok: true; entries: number; treeHeads: number; rootHash: string }
  | { ok: false; entries: number; firstBadSeq: number; finding: Finding; detail: string };

export interface VerifyInput {
  /** Rows after `afterSeq` in seq order, at most `limit`. */
  page(afterSeq: number, limit: number): Promise<readonly EntryRow[]>;
  treeHeads: readonly TreeHeadRow[];
  keys: readonly LogVerifierKey[];
  pageSize?: number;
  /** When retention is judged (redacted entries); default now. */
  now?: Date;
}

export async function verifyLog(input: VerifyInput): Promise<VerifyResult> {
  const keys = new Map(input.keys.map((k) => [k.keyId, k]));
  const heads = [...input.treeHeads].sort((a, b) => a.treeSize - b.treeSize);
  const pageSize = input.pageSize ?? 5_000;
  const now = input.now ?? new Date();
  let expected = 0;
  let chain: Buffer = GENESIS_CHAIN;
  let frontier: Frontier = [];
  let headIndex = 0;
  const bad = (seq: number, finding: Finding, detail: string): VerifyResult => ({ ok: false, entries: expected, firstBadSeq: seq, finding, detail });

  const checkHeadsAt = (size: number): VerifyResult | undefined => {
    while (headIndex < heads.length && heads[headIndex]!.treeSize <= size) {
      const h = heads[headIndex++]!;
      const key = keys.get(h.keyId);
      const timestamp = h.signedAt.toISOString();
      if (!key || !key.verify(treeHeadText({ treeSize: h.treeSize, timestamp, rootHash: h.rootHash, chainHead: h.chainHead }), h.signature)) {
        return bad(Math.max(0, h.treeSize - 1), 'tree-head-not-signed', `the tree head of size ${h.treeSize} is not signed by a trusted key (key ${h.keyId})`);
      }
      if (h.treeSize !== size) continue; // a head below the first row (size 0) is checked against the empty log
      if (!frontierRoot(frontier).equals(h.rootHash) || !chain.equals(h.chainHead)) {
        return bad(size - 1, 'tree-head-mismatch', `the entries up to ${size - 1} do not give the root or chain head signed for size ${size}`);
      }
    }
    return undefined;
  };

  const atStart = checkHeadsAt(0);
  if (atStart) return atStart;
  for (;;) {
    const rows = await input.page(expected - 1, pageSize);
    for (const row of rows) {
      if (row.seq !== expected) return bad(expected, 'deleted', `entry ${expected} is missing (the next row is ${row.seq})`);
      if (row.body === null) {
        // Redacted: the signed timestamp still binds seq, time, class, leaf and chain; the class's retention must have passed.
        const days = (EVENT_CLASSES as Record<string, { retentionDays: number } | undefined>)[row.eventClass]?.retentionDays;
        if (!row.redactedAt || days === undefined || row.recordedAt.getTime() + days * 86_400_000 > now.getTime()) {
          return bad(expected, 'redacted-early', `entry ${expected}'s body is gone before its class (${row.eventClass}) retention passed`);
        }
        const redactedChain = chainHash(chain, row.leafHash);
        if (!redactedChain.equals(row.chainHash)) return bad(expected, 'chain-broken', `entry ${expected}'s chain hash does not follow from entry ${expected - 1}`);
        const key = keys.get(row.keyId);
        const text = entryTimestampText({ seq: row.seq, recordedAt: row.recordedAt.toISOString(), eventClass: row.eventClass, leafHash: row.leafHash, chainHash: redactedChain });
        if (!key || !key.verify(text, row.signature)) return bad(expected, 'not-signed', `redacted entry ${expected} is not the one the log signed`);
        chain = redactedChain;
        frontier = appendToFrontier(frontier, expected, row.leafHash);
        expected++;
        const redactedHead = checkHeadsAt(expected);
        if (redactedHead) return redactedHead;
        continue;
      }
      let body: { seq?: unknown; recordedAt?: unknown; eventClass?: unknown };
      try {
        body = JSON.parse(row.body) as typeof body;
      } catch {
        return bad(expected, 'changed', `entry ${expected}'s body is not JSON`);
      }
      if (body.seq !== row.seq) return bad(expected, 'moved', `row ${row.seq} holds the entry signed as ${String(body.seq)} (reordered, or renumbered around an inserted or deleted entry)`);
      const leaf = leafHash(Buffer.from(row.body, 'utf8'));
      if (!leaf.equals(row.leafHash)) return bad(expected, 'changed', `entry ${expected}'s body does not hash to its leaf hash`);
      const nextChain = chainHash(chain, leaf);
      if (!nextChain.equals(row.chainHash)) return bad(expected, 'chain-broken', `entry ${expected}'s chain hash does not follow from entry ${expected - 1}`);
      const key = keys.get(row.keyId);
      const text = entryTimestampText({ seq: row.seq, recordedAt: String(body.recordedAt), eventClass: String(body.eventClass), leafHash: leaf, chainHash: nextChain });
      if (!key || !key.verify(text, row.signature)) return bad(expected, 'not-signed', `entry ${expected} is not the one the log signed (changed with its hashes recomputed, or inserted)`);
      chain = nextChain;
      frontier = appendToFrontier(frontier, expected, leaf);
      expected++;
      const headProblem = checkHeadsAt(expected);
      if (headProblem) return headProblem;
    }
    if (rows.length < pageSize) break;
  }
  const beyond = heads.find((h) => h.treeSize > expected);
  if (beyond) return bad(expected, 'truncated', `a tree head of size ${beyond.treeSize} was signed but the log ends after ${expected} entries`);
  return { ok: true, entries: expected, treeHeads: heads.length, rootHash: frontierRoot(frontier).toString('hex') };
}
