/**
 * The read side: series (from the raw events or the hourly rollups), funnels,
 * retention and the export cursor, all under row-level security (the caller's
 * tenant picks the rows). Statements are built from closed enums and
 * validated keys; every value from a request is a parameter.
 */
import type { Queryable } from '@bulwark/db';
import { PERIOD_MS, PERIOD_ORIGIN, periodStart, type FunnelQuery, type RetentionQuery } from '../domain/insights.ts';
import { percentileOf, type EventScope, type PropFilter, type SeriesQuery } from '../domain/series.ts';

const ORIGIN = "'2000-01-01T00:00:00Z'";

/** Numbered parameters, added as the statement is built. */
class Params {
  readonly values: unknown[] = [];
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

const filterSql = (alias: string, filters: readonly PropFilter[], p: Params): string =>
  filters.map((f) => ` AND ${alias}.props->>${p.add(f.key)} = ${p.add(f.value)}`).join('');

/**
 * The conditions of a scope on events aliased `alias`: its property filters and
 * segment (the range is left to the caller, whose bounds may differ).
 */
function scopeSql(alias: string, scope: EventScope, p: Params): string {
  let sql = filterSql(alias, scope.filters, p);
  if (scope.segment) {
    sql += ` AND ${alias}.user_id IN (SELECT s.user_id FROM events s WHERE s.type = ${p.add(scope.segment.type)} AND s.occurred_at >= ${p.add(scope.from)} AND s.occurred_at < ${p.add(scope.to)} AND s.user_id IS NOT NULL${filterSql('s', scope.segment.filters, p)})`;
  }
  return sql;
}

export interface SeriesPoint {
  bucket: Date;
  value: number | null;
  count: number;
}

type SeriesRow = { bucket: Date; value: number | string | null; count: string };
const pointsOf = (rows: SeriesRow[]): SeriesPoint[] => rows.map((r) => ({ bucket: r.bucket, value: r.value === null ? null : Number(r.value), count: Number(r.count) }));

/** The series from the raw events: any bucket, aggregate, filter and segment. */
export async function querySeriesRaw(db: Queryable, q: SeriesQuery): Promise<SeriesPoint[]> {
  const p = new Params();
  const type = p.add(q.type);
  const from = p.add(q.from);
  const to = p.add(q.to);
  const bucket = p.add(`1 ${q.bucket}`);
  let value = 'count(*)::float8';
  let only = '';
  if (q.agg !== 'count') {
    const field = p.add(q.field);
    const number = `(e.props->>${field})::float8`;
    const pct = percentileOf(q.agg);
    value = pct === undefined ? `${q.agg}(${number})` : `percentile_cont(${pct}) WITHIN GROUP (ORDER BY ${number})`;
    only = ` AND jsonb_typeof(e.props->${field}) = 'number'`;
  }
  const result = await db.query<SeriesRow>({
    text: `SELECT date_bin(${bucket}::interval, e.occurred_at, ${ORIGIN}) AS bucket, ${value} AS value, count(*) AS count
             FROM events e
            WHERE e.type = ${type} AND e.occurred_at >= ${from} AND e.occurred_at < ${to}${only}${scopeSql('e', q, p)}
            GROUP BY 1 ORDER BY 1`,
    values: p.values,
  });
  return pointsOf(result.rows);
}

/** The series from the hourly rollups (callers check canUseRollups first): hour or day buckets of whole hours. */
export async function querySeriesRollup(db: Queryable, q: SeriesQuery): Promise<SeriesPoint[]> {
  const value = { count: 'sum(n)', sum: 'sum(sum)', avg: 'sum(sum) / nullif(sum(n), 0)', min: 'min(min)', max: 'max(max)' }[q.agg as 'count' | 'sum' | 'avg' | 'min' | 'max'];
  const result = await db.query<SeriesRow>({
    name: `analytics.series_rollup_${q.agg}`,
    text: `SELECT date_bin($4::interval, bucket, ${ORIGIN}) AS bucket, (${value})::float8 AS value, sum(n) AS count
             FROM event_rollups_hourly
            WHERE type = $1 AND field = $5 AND bucket >= $2 AND bucket < $3
            GROUP BY 1 ORDER BY 1`,
    values: [q.type, q.from, q.to, `1 ${q.bucket}`, q.agg === 'count' ? '' : q.field],
  });
  return pointsOf(result.rows);
}

/** Users reaching each step of the funnel (see domain/insights.ts for the rule). */
export async function queryFunnel(db: Queryable, q: FunnelQuery): Promise<number[]> {
  const p = new Params();
  const from = p.add(q.from);
  const to = p.add(q.to);
  const window = p.add(`${q.windowSeconds} seconds`);
  const ctes = [
    `s0 AS (SELECT e.user_id, min(e.occurred_at) AS t0, min(e.occurred_at) AS t FROM events e
             WHERE e.type = ${p.add(q.steps[0])} AND e.occurred_at >= ${from} AND e.occurred_at < ${to} AND e.user_id IS NOT NULL${scopeSql('e', q, p)}
             GROUP BY e.user_id)`,
  ];
  for (let i = 1; i < q.steps.length; i++) {
    ctes.push(`s${i} AS (SELECT prev.user_id, prev.t0, min(e.occurred_at) AS t FROM s${i - 1} prev
                JOIN events e ON e.user_id = prev.user_id AND e.type = ${p.add(q.steps[i])} AND e.occurred_at > prev.t AND e.occurred_at <= prev.t0 + ${window}::interval
               WHERE e.occurred_at >= ${from} AND e.occurred_at < ${to}::timestamptz + ${window}::interval${filterSql('e', q.filters, p)}
               GROUP BY prev.user_id, prev.t0)`);
  }
  const counts = q.steps.map((_, i) => `(SELECT count(*) FROM s${i}) AS c${i}`).join(', ');
  const result = await db.query<Record<string, string>>({ text: `WITH ${ctes.join(',\n')} SELECT ${counts}`, values: p.values });
  const row = result.rows[0] ?? {};
  return q.steps.map((_, i) => Number(row[`c${i}`] ?? 0));
}

/** (cohort, size, k, users) rows of the retention table; a cohort nobody returned from has k null. */
export async function queryRetention(db: Queryable, q: RetentionQuery): Promise<{ cohort: Date; size: number; k: number | null; users: number }[]> {
  const p = new Params();
  const period = p.add(`${PERIOD_MS[q.period] / 1000} seconds`);
  const origin = p.add(PERIOD_ORIGIN);
  const from = p.add(q.from);
  const to = p.add(q.to);
  const returnFrom = p.add(periodStart(q.from, q.period));
  const returnTo = p.add(new Date(periodStart(q.to, q.period).getTime() + (q.periods + 1) * PERIOD_MS[q.period]));
  const seconds = p.add(PERIOD_MS[q.period] / 1000);
  const periods = p.add(q.periods);
  const result = await db.query<{ cohort: Date; size: string; k: number | null; users: string | null }>({
    text: `WITH firsts AS (
             SELECT e.user_id, date_bin(${period}::interval, min(e.occurred_at), ${origin}::timestamptz) AS cohort FROM events e
              WHERE e.type = ${p.add(q.cohortType)} AND e.occurred_at >= ${from} AND e.occurred_at < ${to} AND e.user_id IS NOT NULL${scopeSql('e', q, p)}
              GROUP BY e.user_id
           ), returns AS (
             SELECT DISTINCT f.cohort, f.user_id, floor(extract(epoch FROM e.occurred_at - f.cohort) / ${seconds})::int AS k
               FROM firsts f JOIN events e ON e.user_id = f.user_id AND e.type = ${p.add(q.returnType)}
                AND e.occurred_at >= f.cohort AND e.occurred_at < f.cohort + ${periods} * ${period}::interval
              WHERE e.occurred_at >= ${returnFrom} AND e.occurred_at < ${returnTo}
           ), sizes AS (SELECT cohort, count(*) AS size FROM firsts GROUP BY 1),
           kept AS (SELECT cohort, k, count(*) AS users FROM returns GROUP BY 1, 2)
           SELECT s.cohort, s.size, kept.k, kept.users FROM sizes s LEFT JOIN kept USING (cohort) ORDER BY 1, 3`,
    values: p.values,
  });
  return result.rows.map((r) => ({ cohort: r.cohort, size: Number(r.size), k: r.k, users: Number(r.users ?? 0) }));
}

export interface ExportRow {
  event_id: string;
  type: string;
  occurred_at: Date;
  user_id: string | null;
  source: string;
  props: Record<string, unknown>;
}

/** Declares cursor `name` over the scope's events of `type` (all types when undefined), oldest first; FETCH it inside the same transaction. */
export async function declareExportCursor(tx: Queryable, name: string, type: string | undefined, scope: EventScope): Promise<void> {
  const p = new Params();
  const typeSql = type === undefined ? '' : ` AND e.type = ${p.add(type)}`;
  const where = `e.occurred_at >= ${p.add(scope.from)} AND e.occurred_at < ${p.add(scope.to)}${typeSql}${scopeSql('e', scope, p)}`;
  await tx.query({ text: `DECLARE ${name} NO SCROLL CURSOR FOR SELECT e.event_id, e.type, e.occurred_at, e.user_id, e.source, e.props FROM events e WHERE ${where} ORDER BY e.occurred_at, e.event_id`, values: p.values });
}

export async function fetchExport(tx: Queryable, name: string, rows: number): Promise<ExportRow[]> {
  return (await tx.query<ExportRow>(`FETCH ${rows} FROM ${name}`)).rows;
}

export interface RollupChange {
  type: string;
  field: string;
  bucket: Date;
  n: number;
  sum: number;
  min: number | null;
  max: number | null;
  /** updated_at in microseconds since the epoch: the live feed's event id. */
  micros: string;
}

/** Rollup rows of the caller's tenant changed after `afterMicros` (oldest first, at most `limit`). */
export async function rollupChangesSince(db: Queryable, afterMicros: bigint, limit: number): Promise<RollupChange[]> {
  const result = await db.query<{ type: string; field: string; bucket: Date; n: string; sum: number; min: number | null; max: number | null; micros: string }>({
    name: 'analytics.rollup_changes',
    text: `SELECT type, field, bucket, n, sum, min, max, (extract(epoch FROM updated_at) * 1000000)::bigint::text AS micros
             FROM event_rollups_hourly
            WHERE updated_at > 'epoch'::timestamptz + $1::bigint * interval '1 microsecond' ORDER BY updated_at LIMIT $2`,
    values: [afterMicros.toString(), limit],
  });
  return result.rows.map((r) => ({ ...r, n: Number(r.n) }));
}
