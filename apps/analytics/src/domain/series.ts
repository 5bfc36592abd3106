/**
 * The series query's rules (pure): a closed set of buckets and aggregates,
 * a field for every aggregate but count, and a bounded number of buckets.
 */
export const BUCKETS = ['minute', 'hour', 'day'] as const;
export const AGGREGATES = ['count', 'sum', 'avg', 'min', 'max'] as const;
export type Bucket = (typeof BUCKETS)[number];
export type Aggregate = (typeof AGGREGATES)[number];

export interface SeriesQuery {
  type: string;
  from: Date;
  to: Date;
  bucket: Bucket;
  agg: Aggregate;
  field: string | undefined;
}

const BUCKET_MS: Record<Bucket, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };

/** Why the query is refused, or undefined when it may run. */
export function seriesProblem(q: SeriesQuery, maxBuckets: number): string | undefined {
  if (q.from.getTime() >= q.to.getTime()) return 'from must precede to';
  if ((q.to.getTime() - q.from.getTime()) / BUCKET_MS[q.bucket] > maxBuckets) return `the range spans more than ${maxBuckets} ${q.bucket} buckets`;
  if (q.agg !== 'count' && !q.field) return `${q.agg} needs a field (a numeric property)`;
  return undefined;
}
