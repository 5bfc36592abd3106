/**
 * The events table: daily partitions (created by the owner), the batch write
 * (one multi-row INSERT … ON CONFLICT DO NOTHING from arrays, measured
 * against COPY in bench/analytics.ts) with its hourly rollups. Plain objects
 * in, plain objects out; the queries are in query-store.ts.
 */
import type { DbPool, Queryable } from '@bulwark/db';
import type { AnalyticsEvent } from '../domain/event-types.ts';

const DAY_MS = 86_400_000;

/** `events_pYYYYMMDD` and its [from, to) bounds for the UTC day holding `day`. */
export function partitionOf(day: Date): { name: string; from: string; to: string } {
  const start = new Date(Math.floor(day.getTime() / DAY_MS) * DAY_MS);
  const end = new Date(start.getTime() + DAY_MS);
  return { name: `events_p${start.toISOString().slice(0, 10).replaceAll('-', '')}`, from: start.toISOString(), to: end.toISOString() };
}

/** Creates the daily partitions from `daysBack` before `now` to `daysAhead` after it (owner pool; idempotent). */
export async function ensurePartitions(owner: DbPool, now: Date, daysBack: number, daysAhead: number): Promise<number> {
  let created = 0;
  for (let d = -daysBack; d <= daysAhead; d++) {
    const p = partitionOf(new Date(now.getTime() + d * DAY_MS));
    const exists = await owner.query<{ found: boolean }>('SELECT to_regclass($1) IS NOT NULL AS found', [p.name]);
    if (exists.rows[0]?.found) continue;
    await owner.query(`CREATE TABLE IF NOT EXISTS ${p.name} PARTITION OF events FOR VALUES FROM ('${p.from}') TO ('${p.to}')`);
    created++;
  }
  return created;
}

/** Day partitions (`events_pYYYYMMDD`) among `names` whose whole day lies before `cutoff` (pure). */
export function partitionsBefore(names: readonly string[], cutoff: Date): string[] {
  return names.filter((name) => {
    const m = /^events_p(\d{4})(\d{2})(\d{2})$/.exec(name);
    return m !== null && Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) + DAY_MS <= cutoff.getTime();
  });
}

/** Drops the raw day partitions wholly before `cutoff` (owner pool); the rollups stay. Returns the names dropped. */
export async function dropPartitionsBefore(owner: DbPool, cutoff: Date): Promise<string[]> {
  const { rows } = await owner.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = to_regclass('events')`,
  );
  const old = partitionsBefore(rows.map((r) => r.name), cutoff);
  for (const name of old) await owner.query(`DROP TABLE IF EXISTS ${name}`);
  return old;
}

/**
 * Inserts a batch (any tenants: run in the system context) and, in the same
 * statement, adds the rows that were new to their hourly rollups (a duplicate
 * adds nothing; a late event updates its old hour). Upserts go in key order
 * so that two concurrent batches take the rollup rows' locks in one order.
 * Returns how many rows were new.
 */
export async function insertEvents(db: Queryable, events: readonly AnalyticsEvent[]): Promise<number> {
  if (events.length === 0) return 0;
  const result = await db.query<{ stored: string }>({
    name: 'analytics.insert_events_rollup',
    text: `WITH ins AS (
             INSERT INTO events (tenant_id, event_id, occurred_at, type, source, user_id, props)
             SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::text[], $6::text[], $7::jsonb[])
             ON CONFLICT DO NOTHING
             RETURNING tenant_id, type, occurred_at, props
           ), vals AS (
             SELECT tenant_id, type, '' AS field, date_bin('1 hour', occurred_at, '2000-01-01T00:00:00Z') AS bucket, NULL::float8 AS v FROM ins
             UNION ALL
             SELECT i.tenant_id, i.type, p.key, date_bin('1 hour', i.occurred_at, '2000-01-01T00:00:00Z'), (p.value #>> '{}')::float8
               FROM ins i, jsonb_each(i.props) AS p(key, value)
              WHERE jsonb_typeof(p.value) = 'number'
           ), up AS (
             INSERT INTO event_rollups_hourly AS r (tenant_id, type, field, bucket, n, sum, min, max)
             SELECT tenant_id, type, field, bucket, count(*), coalesce(sum(v), 0), min(v), max(v)
               FROM vals GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
             ON CONFLICT (tenant_id, type, field, bucket) DO UPDATE
               SET n = r.n + excluded.n, sum = r.sum + excluded.sum,
                   min = least(r.min, excluded.min), max = greatest(r.max, excluded.max), updated_at = now()
           )
           SELECT count(*) AS stored FROM ins`,
    values: [
      events.map((e) => e.tenant),
      events.map((e) => e.id),
      events.map((e) => e.occurredAt),
      events.map((e) => e.type),
      events.map((e) => e.source),
      events.map((e) => e.userId),
      events.map((e) => JSON.stringify(e.props)),
    ],
  });
  return Number(result.rows[0]?.stored ?? 0);
}

/**
 * Recomputes the hourly rollups of [from, to) from the raw events (owner or
 * system context): after a bulk load that bypassed the writer, or a manual
 * repair. Whole hours only; run it when no writer writes that range.
 */
export async function rebuildRollups(db: Queryable, from: Date, to: Date): Promise<number> {
  await db.query('DELETE FROM event_rollups_hourly WHERE bucket >= $1 AND bucket < $2', [from, to]);
  const result = await db.query(
    `INSERT INTO event_rollups_hourly (tenant_id, type, field, bucket, n, sum, min, max)
     SELECT tenant_id, type, field, bucket, count(*), coalesce(sum(v), 0), min(v), max(v)
       FROM (
         SELECT tenant_id, type, '' AS field, date_bin('1 hour', occurred_at, '2000-01-01T00:00:00Z') AS bucket, NULL::float8 AS v
           FROM events WHERE occurred_at >= $1 AND occurred_at < $2
         UNION ALL
         SELECT e.tenant_id, e.type, p.key, date_bin('1 hour', e.occurred_at, '2000-01-01T00:00:00Z'), (p.value #>> '{}')::float8
           FROM events e, jsonb_each(e.props) AS p(key, value)
          WHERE e.occurred_at >= $1 AND e.occurred_at < $2 AND jsonb_typeof(p.value) = 'number'
       ) rows
      GROUP BY 1, 2, 3, 4`,
    [from, to],
  );
  return result.rowCount ?? 0;
}
