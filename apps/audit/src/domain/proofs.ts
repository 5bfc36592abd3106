/**
 * Inclusion and consistency proofs (RFC 9162 §2.1.3, §2.1.4) against signed
 * tree heads. The entry itself is read in the caller's tenant (row-level
 * security: a tenant proves its own entries); the leaf hashes the path is
 * made of are every tenant's, read in an audited system context (hashes
 * only, no entry content).
 */
import { withSystemContext, type DbPool } from '@bulwark/db';
import { auditError } from '../errors.ts';
import { consistencyProof, inclusionProof } from './merkle.ts';
import { entryBySeq, latestTreeHead, leafHashes, treeHeadOfSize, type EntryRow, type TreeHeadRow } from '../store/log-store.ts';

export interface InclusionProof {
  entry: EntryRow;
  treeHead: TreeHeadRow;
  auditPath: Buffer[];
}

async function signedHead(pool: DbPool, size: number | undefined): Promise<TreeHeadRow> {
  const head = size === undefined ? await latestTreeHead(pool) : await treeHeadOfSize(pool, size);
  if (!head) {
    if (size === undefined) throw auditError('AUDIT_NOT_SIGNED_YET', 'no tree head has been signed yet');
    const latest = await latestTreeHead(pool);
    if (latest && size < latest.treeSize) throw auditError('AUDIT_TREE_SIZE_INVALID', `no tree head of size ${size} was signed; ask for a signed size (latest ${latest.treeSize})`, { extensions: { latestTreeSize: latest.treeSize } });
    throw auditError('AUDIT_NOT_SIGNED_YET', `no signed tree head of size ${size} yet`);
  }
  return head;
}

/** The audit path of entry `seq` in the signed tree of `treeSize` (default the latest signed head). */
export async function proveInclusion(pool: DbPool, seq: number, treeSize?: number): Promise<InclusionProof> {
  const entry = await entryBySeq(pool, seq);
  if (!entry) throw auditError('AUDIT_ENTRY_NOT_FOUND', `no entry ${seq} in your tenant`);
  const treeHead = await signedHead(pool, treeSize);
  if (seq >= treeHead.treeSize) throw auditError('AUDIT_NOT_SIGNED_YET', `entry ${seq} is newer than the signed tree head of size ${treeHead.treeSize}`, { retryAfterSeconds: 1 });
  const leaves = await withSystemContext(pool, 'audit.proofs', () => leafHashes(pool, treeHead.treeSize));
  return { entry, treeHead, auditPath: inclusionProof(leaves, seq, treeHead.treeSize) };
}

export interface ConsistencyProof {
  first: TreeHeadRow;
  second: TreeHeadRow;
  proof: Buffer[];
}

/** That the signed tree of `first` entries is a prefix of the signed tree of `second` (default the latest). */
export async function proveConsistency(pool: DbPool, first: number, second?: number): Promise<ConsistencyProof> {
  const to = await signedHead(pool, second);
  if (first > to.treeSize) throw auditError('AUDIT_TREE_SIZE_INVALID', `first (${first}) is above second (${to.treeSize})`);
  const from = await signedHead(pool, first);
  const leaves = await withSystemContext(pool, 'audit.proofs', () => leafHashes(pool, to.treeSize));
  return { first: from, second: to, proof: consistencyProof(leaves, first, to.treeSize) };
}
