/**
 * The query rules (pure): a closed set of buckets and aggregates, a field for
 * every aggregate but count, a bounded number of buckets, property filters
 * (`key:value`, compared as text) and user segments (users who did an event
 * of a type in the range). Also when a series may be read from the hourly
 * rollups instead of the raw events.
 */
export const BUCKETS = ['minute', 'hour', 'day'] as const;
/** p50…p99 are exact (percentile_cont over the raw values of each bucket), never from the rollups. */
export const AGGREGATES = ['count', 'sum', 'avg', 'min', 'max', 'p50', 'p90', 'p95', 'p99'] as const;
export type Bucket = (typeof BUCKETS)[number];
export type Aggregate = (typeof AGGREGATES)[number];

/** One property filter: `props->>key = value` (text comparison). */
export interface PropFilter {
  key: string;
  value: string;
}

/** Users who did an event of `type` (with every filter) within the query's range. */
export interface Segment {
  type: string;
  filters: PropFilter[];
}

/** What every event query narrows by: its time range, property filters and segment. */
export interface EventScope {
  from: Date;
  to: Date;
  filters: PropFilter[];
  segment: Segment | undefined;
}

export interface SeriesQuery extends EventScope {
  type: string;
  bucket: Bucket;
  agg: Aggregate;
  field: string | undefined;
  /** 'raw' forces the raw events even where the rollups would do. */
  source: 'auto' | 'raw';
}

export const BUCKET_MS: Record<Bucket, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };
const HOUR_MS = BUCKET_MS.hour;
export const PROP_KEY = /^[A-Za-z0-9_.-]{1,64}$/;

/** Percentile of a pN aggregate (0.5 … 0.99), undefined for the others. */
export function percentileOf(agg: Aggregate): number | undefined {
  return agg.startsWith('p') ? Number(agg.slice(1)) / 100 : undefined;
}

/** `key:value` strings (the first colon splits) as filters; a string without one is an error message. */
export function parseFilters(raw: readonly string[]): PropFilter[] | string {
  const filters: PropFilter[] = [];
  for (const f of raw) {
    const colon = f.indexOf(':');
    const key = colon < 0 ? '' : f.slice(0, colon);
    if (!PROP_KEY.test(key)) return `filter ${JSON.stringify(f)} is not key:value with a key of letters, digits, _ . -`;
    filters.push({ key, value: f.slice(colon + 1) });
  }
  return filters;
}

/** Why the query is refused, or undefined when it may run. */
export function seriesProblem(q: Pick<SeriesQuery, 'from' | 'to' | 'bucket' | 'agg' | 'field'>, maxBuckets: number): string | undefined {
  if (q.from.getTime() >= q.to.getTime()) return 'from must precede to';
  if ((q.to.getTime() - q.from.getTime()) / BUCKET_MS[q.bucket] > maxBuckets) return `the range spans more than ${maxBuckets} ${q.bucket} buckets`;
  if (q.agg !== 'count' && !q.field) return `${q.agg} needs a field (a numeric property)`;
  return undefined;
}

/**
 * The hourly rollups answer a series exactly when its buckets are whole hours
 * or days, its range starts and ends on an hour, nothing narrows it (filters,
 * segment) and its aggregate is one a rollup keeps (not a percentile).
 */
export function canUseRollups(q: SeriesQuery): boolean {
  return (
    q.source === 'auto' &&
    q.bucket !== 'minute' &&
    percentileOf(q.agg) === undefined &&
    q.filters.length === 0 &&
    q.segment === undefined &&
    q.from.getTime() % HOUR_MS === 0 &&
    q.to.getTime() % HOUR_MS === 0
  );
}
