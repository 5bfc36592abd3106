/**
 * The events table: daily partitions (created by the owner), the batch write
 * (one multi-row INSERT … ON CONFLICT DO NOTHING from arrays, measured
 * against COPY in bench/analytics.ts) and the series query. Plain objects in,
 * plain objects out.
 */
import type { DbPool, Queryable } from '@bulwark/db';
import type { AnalyticsEvent } from '../domain/event-types.ts';
import type { SeriesQuery } from '../domain/series.ts';

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

/** Inserts a batch (any tenants: run in the system context); returns how many rows were new. */
export async function insertEvents(db: Queryable, events: readonly AnalyticsEvent[]): Promise<number> {
  if (events.length === 0) return 0;
  const result = await db.query({
    name: 'analytics.insert_events',
    text: `INSERT INTO events (tenant_id, event_id, occurred_at, type, source, user_id, props)
           SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::text[], $6::text[], $7::jsonb[])
           ON CONFLICT DO NOTHING`,
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
  return result.rowCount ?? 0;
}

export interface SeriesPoint {
  bucket: Date;
  value: number | null;
  count: number;
}

/** The series of the caller's tenant (row-level security picks the rows). */
export async function querySeries(db: Queryable, q: SeriesQuery): Promise<SeriesPoint[]> {
  // agg and bucket come from closed enums (zod), never from raw input.
  const value = q.agg === 'count' ? 'count(*)::float8' : `${q.agg}((props->>$5)::float8)`;
  const result = await db.query<{ bucket: Date; value: number | null; count: string }>({
    name: `analytics.series_${q.agg}`,
    text: `SELECT date_bin($4::interval, occurred_at, '2000-01-01T00:00:00Z') AS bucket, ${value} AS value, count(*) AS count
             FROM events
            WHERE type = $1 AND occurred_at >= $2 AND occurred_at < $3${q.agg === 'count' ? ' AND $5::text IS NULL' : " AND jsonb_typeof(props->$5) = 'number'"}
            GROUP BY 1 ORDER BY 1`,
    values: [q.type, q.from, q.to, `1 ${q.bucket}`, q.field ?? null],
  });
  return result.rows.map((r) => ({ bucket: r.bucket, value: r.value === null ? null : Number(r.value), count: Number(r.count) }));
}
