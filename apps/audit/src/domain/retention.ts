/**
 * Retention per event class: entries past their class's retention are
 * redacted (body dropped, hashes and the signed entry timestamp kept), in
 * batches, by the owner's pool in a transaction that sets audit.redact (the
 * only UPDATE the log's trigger lets through; migrations/0002). The classes
 * and their retention are written to retention_classes from the code at
 * start, so the trigger and the verifier judge by the same numbers.
 */
import { withSystemContext, withTransaction, type DbPool } from '@bulwark/db';
import type { Logger } from '@bulwark/service-kit';
import { EVENT_CLASSES } from './event-classes.ts';

/** Writes EVENT_CLASSES into retention_classes (owner). */
export async function syncRetentionClasses(owner: DbPool): Promise<void> {
  const classes = Object.entries(EVENT_CLASSES);
  await owner.query({
    name: 'audit.retention.sync',
    text: `INSERT INTO retention_classes (event_class, retention)
      SELECT c, make_interval(days => d) FROM unnest($1::text[], $2::int[]) AS t(c, d)
      ON CONFLICT (event_class) DO UPDATE SET retention = EXCLUDED.retention`,
    values: [classes.map(([c]) => c), classes.map(([, v]) => v.retentionDays)],
  });
}

/** Redacts up to `batch` entries past retention; returns how many. */
export async function redactExpired(owner: DbPool, batch = 1_000): Promise<number> {
  return withSystemContext(owner, 'audit.retention', () => withTransaction(owner, async (tx) => {
    await tx.query("SELECT set_config('audit.redact', 'on', true)");
    const { rowCount } = await tx.query({
      name: 'audit.retention.redact',
      text: `UPDATE entries e SET body = NULL, redacted_at = now()
        WHERE e.seq IN (
          SELECT e2.seq FROM entries e2 JOIN retention_classes r ON r.event_class = e2.event_class
          WHERE e2.body IS NOT NULL AND e2.recorded_at + r.retention < now() ORDER BY e2.seq LIMIT $1)`,
      values: [batch],
    });
    return rowCount ?? 0;
  }));
}

export interface RetentionSweeper {
  start(): void;
  stop(): Promise<void>;
}

export function createRetentionSweeper(options: { owner: DbPool; intervalMs: number; log: Logger; onRedacted?: (n: number) => void }): RetentionSweeper {
  let timer: NodeJS.Timeout | undefined;
  let round: Promise<void> = Promise.resolve();
  const tick = () => {
    round = (async () => {
      let n: number;
      do {
        n = await redactExpired(options.owner);
        if (n > 0) options.onRedacted?.(n);
      } while (n > 0 && timer);
    })().catch((err: unknown) => options.log.warn({ err }, 'audit retention sweep failed; next interval retries'));
  };
  return {
    start() {
      if (timer) return;
      timer = setInterval(tick, options.intervalMs);
      timer.unref();
      tick();
    },
    async stop() {
      clearInterval(timer);
      timer = undefined;
      await round;
    },
  };
}
