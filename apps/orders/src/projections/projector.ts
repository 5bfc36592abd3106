/**
 * Projectors: one loop per projection follows the global log after its
 * checkpoint; each batch is applied and the checkpoint moved in ONE
 * transaction, so every event reaches the read model exactly once. A
 * transaction-scoped advisory lock per projection keeps replicas (and a
 * rebuild's swap) from applying the same batch twice; taking it does not
 * assign a transaction id, so the projector never holds back the log horizon
 * while it reads. An event the projection cannot apply is parked and passed
 * (parking.ts); any other failure retries the batch with backoff, and
 * `failingSince` tells readiness how long the loop has been failing.
 */
import { trackQueries, withSystemContext, withTransaction, type DbLogger, type DbPool, type Queryable } from '@bulwark/db';
import { backoffCeiling } from '@bulwark/service-kit/backoff';
import { comparePositions, lastCommittedPosition, readGlobalLog, type GlobalPosition } from '../store/global-log.ts';
import { applyOrPark, type Parked } from './parking.ts';
import { liveTables, type Projection } from './projection.ts';

/** Wait after a failed batch: 100 ms doubling per consecutive failure, at most 5 s. */
const FAILURE_BACKOFF = { baseMs: 100, capMs: 5_000 };

export interface ProjectorOptions {
  pool: DbPool;
  projection: Projection;
  log: DbLogger;
  /** Events per transaction; default 500. */
  batchSize?: number;
  /** Idle poll interval when caught up; default 100 ms. */
  pollIntervalMs?: number;
  /** Told about each event parked by a committed batch (metrics). */
  onParked?: (parked: Parked) => void;
}

export interface Projector {
  readonly name: string;
  start(): void;
  /** Finishes the running batch and stops. Idempotent. */
  stop(): Promise<void>;
  /**
   * Applies batches until every event committed before the call is projected; returns events applied.
   * Events behind a transaction still in flight (anywhere on the server: the horizon is cluster-wide)
   * cannot be read in order yet, so it waits for that transaction rather than stopping short.
   */
  catchUp(): Promise<number>;
  readonly running: boolean;
  /** The last error of the loop, cleared by a successful batch (readiness). */
  readonly lastError: unknown;
  /** Local time (ms) of the first of the failures in a row, undefined after a successful batch (readiness). */
  readonly failingSince: number | undefined;
}

/** Logs and reports each event a committed batch (or rebuild step) parked. */
export function reportParked(log: DbLogger, projection: string, parked: readonly Parked[], onParked?: (parked: Parked) => void): void {
  for (const p of parked) {
    const { eventId, streamId, version, type, position, errorCode } = p.event;
    // A rebuild meets the events parked before it again: those are only a warning.
    log[p.isNew ? 'error' : 'warn']({ err: p.error, projection, eventId, streamId, version, type, position, errorCode, again: !p.isNew }, 'projection parked an event it cannot apply');
    onParked?.(p);
  }
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
  let failingSince: number | undefined;

  // Every tenant's events, into rows carrying each event's tenant: system work (audited).
  const applyBatch = async (): Promise<number> => {
    // One batch is one tracked job (statements, time, N+1).
    const { applied, parked } = await trackQueries('orders.projector-batch', () => withSystemContext(pool, 'orders.projector', () => withTransaction(pool, async (tx) => {
      await tx.query({ name: 'orders.projection.lock', text: 'SELECT pg_advisory_xact_lock(hashtext($1))', values: [lockKey(projection.name)] });
      const events = await readGlobalLog(tx, await readCheckpoint(tx, projection.name), batchSize);
      const last = events.at(-1);
      if (!last) return { applied: 0, parked: [] };
      const parked = await applyOrPark(tx, projection, events, tables);
      await writeCheckpoint(tx, projection.name, last.position);
      return { applied: events.length, parked };
    })));
    reportParked(log, projection.name, parked, options.onParked);
    return applied;
  };

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
        failingSince = undefined;
        failures = 0;
        if (applied < batchSize) await pause(pollIntervalMs);
      } catch (err) {
        lastError = err;
        failingSince ??= Date.now();
        failures++;
        log.error({ err, projection: projection.name }, 'projection batch failed');
        await pause(backoffCeiling(failures + 1, FAILURE_BACKOFF));
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
    get failingSince() {
      return failingSince;
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
      const target = await withSystemContext(pool, 'orders.projector', () => lastCommittedPosition(pool));
      let total = 0;
      for (;;) {
        const n = await applyBatch();
        total += n;
        if (n === batchSize) continue;
        const reached = await withSystemContext(pool, 'orders.projector', () => readCheckpoint(pool, projection.name));
        if (comparePositions(reached, target) >= 0) return total;
        await new Promise((resolve) => setTimeout(resolve, pollIntervalMs));
      }
    },
  };
}
