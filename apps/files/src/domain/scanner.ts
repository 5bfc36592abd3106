/**
 * The scanner: claims due quarantined files (leased, SKIP LOCKED, so every
 * replica may run one), streams each from quarantine through clamd while the
 * first bytes decide the real type, then promotes it to the clean bucket or
 * rejects it, and records the verdict as an event in the same transaction.
 * A failed attempt (clamd or storage away, a timeout) never decides: the file
 * stays quarantined and is due again after a backoff; a scanner killed
 * mid-scan leaves its lease to run out. Runs in the system context.
 */
import { withSystemContext, withTransaction, type DbPool } from '@bulwark/db';
import type { Logger } from '@bulwark/service-kit/logging';
import { backoffDelay } from '@bulwark/service-kit/backoff';
import type { ClamdClient, ScanVerdict } from '../clients/clamd.ts';
import type { Storage } from '../clients/storage.ts';
import { claimDueScans, finishScan, retryScanLater, type FileRecord, type ScanOutcome } from '../store/files-store.ts';
import { deriveImage, derivesFrom } from './derivatives.ts';
import { recordFileEvent } from './files-events.ts';
import { SNIFF_BYTES, typeMatches } from './sniff.ts';

export interface ScannerOptions {
  pool: DbPool;
  storage: Storage;
  clamd: ClamdClient;
  log: Logger;
  batch: number;
  intervalMs: number;
  leaseSeconds: number;
  retry: { baseMs: number; capMs: number };
  onVerdict?: (outcome: 'clean' | 'rejected' | 'failed') => void;
}

export interface Scanner {
  start(): void;
  stop(): Promise<void>;
  /** One round; returns how many files it decided (tests). */
  scanOnce(): Promise<number>;
  readonly running: boolean;
}

/** Streams the object to clamd, keeping its first bytes for the type check. */
async function inspect(storage: Storage, clamd: ClamdClient, file: FileRecord): Promise<{ verdict: ScanVerdict; head: Uint8Array; bytes: number }> {
  const body = await storage.readQuarantined(file.objectKey);
  let head = new Uint8Array(0);
  let bytes = 0;
  async function* tee(): AsyncIterable<Uint8Array> {
    for await (const chunk of body) {
      if (head.length < SNIFF_BYTES) head = Buffer.concat([head, chunk]).subarray(0, SNIFF_BYTES);
      bytes += chunk.length;
      yield chunk;
    }
  }
  const verdict = await clamd.scan(tee());
  return { verdict, head, bytes };
}

function decide(file: FileRecord, found: { verdict: ScanVerdict; head: Uint8Array; bytes: number }): ScanOutcome {
  const { ok, detected } = typeMatches(file.declaredType, found.head);
  if (found.verdict.verdict === 'infected') return { status: 'rejected', reason: 'infected', detectedType: detected ?? null, signature: found.verdict.signature };
  if (found.bytes !== file.size) return { status: 'rejected', reason: 'size_mismatch', detectedType: detected ?? null, signature: null };
  if (!ok) return { status: 'rejected', reason: 'type_mismatch', detectedType: detected ?? null, signature: null };
  return { status: 'clean', detectedType: detected! };
}

export function createScanner(options: ScannerOptions): Scanner {
  const { pool, storage, clamd, log } = options;
  let running = false;
  let loop: Promise<void> | undefined;
  let wake: (() => void) | undefined;

  /** Thumbnails beside the original; an image sharp cannot read gets none (logged), storage errors fail the attempt. */
  async function derive(file: FileRecord): Promise<string[]> {
    const original = await storage.readClean(file.objectKey);
    let derived: Awaited<ReturnType<typeof deriveImage>>;
    try {
      derived = await deriveImage(original);
    } catch (err) {
      log.warn({ err, fileId: file.id }, 'image could not be decoded; no derivatives');
      return [];
    }
    const dir = file.objectKey.slice(0, file.objectKey.lastIndexOf('/') + 1);
    for (const d of derived) await storage.putClean(`${dir}${d.name}`, d.body, d.contentType);
    return derived.map((d) => d.name);
  }

  async function scanFile(file: FileRecord): Promise<boolean> {
    try {
      // Promote before the verdict commits: a crash between the two leaves a quarantined row whose object is already
      // clean (promoted only after a clean scan and type check), which the next attempt only has to record.
      const promotedBefore = (await storage.quarantinedSize(file.objectKey)) === undefined && (await storage.isPromoted(file.objectKey));
      const outcome: ScanOutcome = promotedBefore ? { status: 'clean', detectedType: file.declaredType } : decide(file, await inspect(storage, clamd, file));
      if (!promotedBefore && outcome.status === 'clean') await storage.promote(file.objectKey);
      else if (outcome.status === 'rejected') await storage.removeAll(file.objectKey);
      if (outcome.status === 'clean' && derivesFrom(outcome.detectedType)) outcome.derivatives = await derive(file);
      await withTransaction(pool, async (tx) => {
        const done = await finishScan(tx, file.id, outcome);
        if (!done) return;
        await recordFileEvent(tx, outcome.status, {
          fileId: done.id,
          tenant: done.tenant,
          owner: done.owner,
          name: done.name,
          contentType: done.declaredType,
          size: done.size,
          rejectReason: done.rejectReason,
          signature: done.signature,
          detectedType: done.detectedType,
        });
      });
      log.info({ fileId: file.id, outcome: outcome.status, reason: outcome.status === 'rejected' ? outcome.reason : undefined }, 'file scanned');
      options.onVerdict?.(outcome.status);
      return true;
    } catch (err) {
      const delay = backoffDelay(file.scanAttempts, { ...options.retry, jitter: 'full' });
      log.warn({ err, fileId: file.id, attempt: file.scanAttempts, retryInMs: delay }, 'scan attempt failed; the file stays quarantined');
      options.onVerdict?.('failed');
      await retryScanLater(pool, file.id, delay, (err as Error).message).catch((e: unknown) => log.warn({ err: e, fileId: file.id }, 'could not schedule the retry; the lease runs out instead'));
      return false;
    }
  }

  async function scanOnce(): Promise<number> {
    const claimed = await claimDueScans(pool, options.batch, options.leaseSeconds);
    const decided = await Promise.all(claimed.map(scanFile));
    return decided.filter(Boolean).length;
  }

  async function run(): Promise<void> {
    while (running) {
      let claimedAny = false;
      try {
        claimedAny = (await scanOnce()) > 0;
      } catch (err) {
        log.warn({ err }, 'scanner round failed; retrying');
      }
      if (!claimedAny && running) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, options.intervalMs).unref();
        });
        wake = undefined;
      }
    }
  }

  return {
    scanOnce: () => withSystemContext(pool, 'files.scanner', scanOnce),
    get running() {
      return running;
    },
    start() {
      if (running) return;
      running = true;
      loop = withSystemContext(pool, 'files.scanner', run);
    },
    async stop() {
      running = false;
      wake?.();
      await loop;
    },
  };
}
