/**
 * Signed tree heads: every interval (and on demand) the head's size, Merkle
 * root (from the frontier) and chain head are signed with the log key and
 * recorded, unless a head of that size is recorded already. Several
 * replicas may sign the same size; the first insert wins, the others are
 * no-ops.
 */
import type { DbPool } from '@bulwark/db';
import type { Logger } from '@bulwark/service-kit';
import { treeHeadText } from './entry.ts';
import { frontierRoot } from './merkle.ts';
import type { LogSigner } from './signing-key.ts';
import { insertTreeHead, latestTreeHead, readHead, type TreeHeadRow } from '../store/log-store.ts';

export async function signTreeHead(pool: DbPool, signer: LogSigner, now: Date = new Date()): Promise<TreeHeadRow> {
  const head = await readHead(pool);
  const latest = await latestTreeHead(pool);
  if (latest && latest.treeSize >= head.treeSize) return latest;
  const rootHash = frontierRoot(head.frontier);
  const timestamp = now.toISOString();
  const signature = signer.sign(treeHeadText({ treeSize: head.treeSize, timestamp, rootHash, chainHead: head.chainHead }));
  const row: TreeHeadRow = { treeSize: head.treeSize, signedAt: now, rootHash, chainHead: head.chainHead, keyId: signer.keyId, signature };
  await insertTreeHead(pool, row);
  return row;
}

export interface TreeHeadSigner {
  start(): void;
  stop(): Promise<void>;
}

export function createTreeHeadSigner(options: { pool: DbPool; signer: LogSigner; intervalMs: number; log: Logger; onSigned?: (h: TreeHeadRow) => void }): TreeHeadSigner {
  let timer: NodeJS.Timeout | undefined;
  let round: Promise<void> = Promise.resolve();
  const tick = () => {
    round = signTreeHead(options.pool, options.signer).then(
      (h) => options.onSigned?.(h),
      (err: unknown) => options.log.warn({ err }, 'signing the audit tree head failed; next interval retries'),
    );
  };
  return {
    start() {
      if (timer) return;
      tick();
      timer = setInterval(tick, options.intervalMs);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      timer = undefined;
      await round;
    },
  };
}
