/**
 * The processed-event store in PostgreSQL: `processed_events` keyed by
 * (consumer group, event id), created by this package's own migrations in the
 * caller's schema (bookkeeping in `bulwark_events_migrations`, so version
 * numbers never clash with the service's migrations).
 */
import { fileURLToPath } from 'node:url';
import { migrate, type DbClient, type DbPool } from '@bulwark/db';

/** Next to src/ and dist/ alike, so the same URL works from sources and from a build. */
const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations/', import.meta.url));
const BOOKKEEPING_TABLE = 'bulwark_events_migrations';

function quoteIdent(id: string): string {
  return `"${id.replaceAll('"', '""')}"`;
}

export function processedTable(schema: string): string {
  return `${quoteIdent(schema)}.processed_events`;
}

/** Creates or upgrades the store in `schema` (default public); safe to run from every replica at start. */
export async function migrateProcessedEventStore(options: { pool: DbPool; schema?: string }): Promise<void> {
  await migrate({ pool: options.pool, dir: MIGRATIONS_DIR, schema: options.schema ?? 'public', table: BOOKKEEPING_TABLE, phase: 'all' });
}

/**
 * Marks the event processed inside the caller's transaction. Returns false
 * when it already was (a redelivery): the caller must then skip the handler.
 * A concurrent transaction marking the same event blocks here until it ends.
 */
export async function markProcessed(client: DbClient, table: string, mark: { group: string; eventId: string; type: string; topic: string }): Promise<boolean> {
  const res = await client.query({
    name: 'events.mark_processed',
    text: `INSERT INTO ${table} (consumer_group, event_id, event_type, topic) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
    values: [mark.group, mark.eventId, mark.type, mark.topic],
  });
  return res.rowCount === 1;
}

/** Deletes marks older than `olderThanMs`; redeliveries older than that would be handled again. Returns rows deleted. */
export async function pruneProcessedEvents(options: { pool: DbPool; schema?: string; olderThanMs: number }): Promise<number> {
  const res = await options.pool.query({
    name: 'events.prune_processed',
    text: `DELETE FROM ${processedTable(options.schema ?? 'public')} WHERE processed_at < now() - make_interval(secs => $1)`,
    values: [options.olderThanMs / 1000],
  });
  return res.rowCount ?? 0;
}
