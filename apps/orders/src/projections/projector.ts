/**
 * Projectors: one loop per projection follows the global log after its
 * checkpoint; each batch is applied and the checkpoint moved in ONE
 * transaction, so every event reaches the read model exactly once. A
 * transaction-scoped advisory lock per projection keeps replicas (and a
 * rebuild's swap) from applying the same batch twice; taking it does not
 * assign a transaction id, so the projector never holds back the log horizon
 * while it reads.
 */
import { withTransaction, type DbLogger, type DbPool, type Queryable } from '@bulwark/db';
import { readGlobalLog, type GlobalPosition } from '../store/global-log.ts';
import { liveTables, type Projection } from './projection.ts';

export interface ProjectorOptions {
  pool: DbPool;
  projection: Projection;
  log: DbLogger;
  /** Events per transaction; default 500. */
  batchSize?: number;
  /** Idle poll interval when caught up; default 100 ms. */
  pollIntervalMs?: number;
}

export interface Projector {
  readonly name: string;
  start(): void;
  /** Finishes the running batch and stops. Idempotent. */
  stop(): Promise<void>;
  /** Applies batches until the log (up to the visible horizon) is exhausted; returns events applied. */
  catchUp(): Promise<number>;
  readonly running: boolean;
  /** The last error of the loop, cleared by a successful batch (readiness). */
  readonly lastError: unknown;
}

export function lockKey(projection: string): string {
  return `orders.projection:${projection}`;
}

export async function readCheckpoint(db: Queryable, projection: string): Promise<GlobalPosition> {
  const { rows } = await db.query<{ transaction_id: string; event_id: string }>({
    name: 'orders.checkpoint.read',
    text: 'SELECT transaction_id::text AS transaction_id, event_id::text AS event_id FROM projection_checkpoints WHERE projection = $1',
    values: [projection],
  });
  const row = rows[0];
  if (!row) throw new Error(`projection ${projection} has no checkpoint row (migrations not applied?)`);
  return { transactionId: row.transaction_id, id: row.event_id };
}

export async function writeCheckpoint(db: Queryable, projection: string, position: GlobalPosition): Promise<void> {
  await db.query({
    name: 'orders.checkpoint.write',
    text: 'UPDATE projection_checkpoints SET transaction_id = $2::xid8, event_id = $3, updated_at = now() WHERE projection = $1',
    values: [projection, position.transactionId, position.id],
  });
}

export function createProjector(options: ProjectorOptions): Projector {
  const { pool, projection, log } = options;
  const batchSize = options.batchSize ?? 500;
  const pollIntervalMs = options.pollIntervalMs ?? 100;
  const tables = liveTables(projection);
  let loop: Promise<void> | undefined;
  let stopping = false;
  let wake: (() => void) | undefined;
  let lastError: unknown;

  const applyBatch = (): Promise<number> =>
    withTransaction(pool, async (tx) => {
      await tx.query({ name: 'orders.projection.lock', text: 'SELECT pg_advisory_xact_lock(hashtext($1))', values: [lockKey(projection.name)] });
      const events = await readGlobalLog(tx, await readCheckpoint(tx, projection.name), batchSize);
      const last = events.at(-1);
      if (!last) return 0;
      await projection.apply(tx, events, tables);
      await writeCheckpoint(tx, projection.name, last.position);
      return events.length;
    });

  const pause = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  async function run(): Promise<void> {
    let failures = 0;
    while (!stopping) {
      try {
        const applied = await applyBatch();
        lastError = undefined;
        failures = 0;
        if (applied < batchSize) await pause(pollIntervalMs);
      } catch (err) {
        lastError = err;
        failures++;
        log.error({ err, projection: projection.name }, 'projection batch failed');
        await pause(Math.min(5_000, 100 * 2 ** Math.min(failures, 6)));
      }
    }
  }

  return {
    name: projection.name,
    get running() {
      return loop !== undefined && !stopping;
    },
    get lastError() {
      return lastError;
    },
    start() {
      if (loop) return;
      stopping = false;
      loop = run();
      log.info({ projection: projection.name }, 'projector started');
    },
    async stop() {
      stopping = true;
      wake?.();
      await loop;
      loop = undefined;
    },
    async catchUp() {
      let total = 0;
      for (;;) {
        const n = await applyBatch();
        total += n;
        if (n < batchSize) return total;
      }
    },
  };
}
