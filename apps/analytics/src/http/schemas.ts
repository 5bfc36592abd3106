/** Request and response schemas of the analytics routes (they validate, and /openapi.json is made from them). */
import { z } from 'zod';
import { PERIODS } from '../domain/insights.ts';
import { AGGREGATES, BUCKETS } from '../domain/series.ts';

export const MAX_BATCH = 1_000;

export const BatchBody = z.object({ events: z.array(z.unknown()).min(1).max(MAX_BATCH).describe(`1 to ${MAX_BATCH} events; each is validated on its own (see the single-event form).`) }).strict();
export const SingleBody = z
  .record(z.string(), z.unknown())
  .refine((r) => !('events' in r), 'a batch is { events: [1 to 1,000 events] }')
  .describe('One event: { id, type, occurredAt, userId?, props? }.');
export const EventsBody = z.union([BatchBody, SingleBody]);

const RowError = z.object({ index: z.number().int(), id: z.string().optional(), pointer: z.string().describe('JSON pointer into the request body.'), detail: z.string() });

export const IngestResponse = z.object({
  accepted: z.number().int().describe('Events handed to Kafka (stored within seconds; duplicates by id and occurredAt are stored once).'),
  rejected: z.number().int(),
  errors: z.array(RowError).describe('One entry per refused event; empty when all were accepted.'),
});


const Filters = z
  .union([z.string().max(1_100), z.array(z.string().max(1_100)).max(20)])
  .optional()
  .describe('Property filters `key:value` (repeat the parameter; all must hold): the property, as text, equals the value.');

/** What narrows every query: the range, property filters, and a segment of users. */
export const ScopeQuery = z.object({
  from: z.iso.datetime({ offset: true }),
  to: z.iso.datetime({ offset: true }).describe('Exclusive.'),
  filter: Filters,
  segment: z.string().min(1).max(64).optional().describe('Only users who did an event of this type in the range (the user segment).'),
  segmentFilter: Filters.describe('Property filters `key:value` on the segment\'s events.'),
});

export const SeriesQuery = ScopeQuery.extend({
  type: z.string().min(1).max(64).describe('Event type, e.g. purchase or shortener.link-clicked.'),
  bucket: z.enum(BUCKETS).default('hour'),
  agg: z.enum(AGGREGATES).default('count').describe('count, sum/avg/min/max of `field`, or an exact percentile of it (p50, p90, p95, p99: percentile_cont over the raw values, no sketch error).'),
  field: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/).optional().describe('The numeric property sum/avg/min/max/pNN read (events where it is not a number are left out).'),
  source: z.enum(['auto', 'raw']).default('auto').describe('auto: the hourly rollups answer when they can (hour/day buckets, range on whole hours, no filter or segment, not a percentile); raw: always the raw events.'),
});

export const SeriesResponse = z.object({
  type: z.string(),
  bucket: z.enum(BUCKETS),
  agg: z.enum(AGGREGATES),
  field: z.string().nullable(),
  source: z.enum(['rollup', 'raw']).describe('What answered: the hourly rollups or the raw events.'),
  points: z.array(z.object({ at: z.string().describe('Start of the bucket (UTC).'), value: z.number().nullable(), count: z.number().int().describe('Events in the bucket that the value is computed from.') })),
});

export const FunnelQuery = ScopeQuery.extend({
  steps: z.string().min(3).max(600).describe('2 to 8 event types, comma-separated, in order (e.g. page-view,click,purchase).'),
  windowSeconds: z.coerce.number().int().min(1).max(90 * 86_400).default(86_400).describe("Every later step must happen within this many seconds of the user's first step."),
});

export const FunnelResponse = z.object({
  windowSeconds: z.number().int(),
  steps: z.array(z.object({ type: z.string(), users: z.number().int(), fromPrevious: z.number(), fromFirst: z.number() })),
});

export const RetentionQuery = ScopeQuery.extend({
  cohortType: z.string().min(1).max(64).describe("The event that puts a user in a cohort: the period of the user's first one in the range."),
  returnType: z.string().min(1).max(64).describe('The event that counts as coming back.'),
  period: z.enum(PERIODS).default('day').describe('Cohort and return period (UTC; weeks start on Monday).'),
  periods: z.coerce.number().int().min(1).max(52).default(8).describe('Return periods counted after each cohort start (k = 0 is the cohort period itself).'),
});

export const RetentionResponse = z.object({
  period: z.enum(PERIODS),
  cohorts: z.array(z.object({ start: z.string(), size: z.number().int(), retained: z.array(z.number().int()).describe('Users of the cohort active in period k, k = 0 … periods-1.') })),
});

export const ExportQuery = ScopeQuery.extend({
  type: z.string().min(1).max(64).optional().describe('Only events of this type (default: all).'),
  format: z.enum(['csv', 'ndjson']).default('csv'),
});

export const ExportRow = z.object({ id: z.string(), type: z.string(), occurredAt: z.string(), userId: z.string().nullable(), source: z.string(), props: z.record(z.string(), z.unknown()) });

export const LiveQuery = z.object({ since: z.iso.datetime({ offset: true }).optional().describe('Send the buckets changed after this time first (ignored when Last-Event-ID is sent).') });

export const LiveBucket = z.object({
  type: z.string(),
  field: z.string().describe("'' for the event count; else the numeric property of sum/min/max."),
  at: z.string().describe('Start of the hour (UTC).'),
  count: z.number().int(),
  sum: z.number(),
  min: z.number().nullable(),
  max: z.number().nullable(),
});

export const UploadReport = z.object({
  accepted: z.number().int().describe('Rows handed to Kafka (stored within seconds; duplicates by id and occurredAt are stored once).'),
  rejected: z.number().int(),
  rows: z.number().int().describe('Data rows read (accepted + rejected).'),
  bytes: z.number().int(),
  errors: z.array(RowError.extend({ line: z.number().int().describe('1-based line of the file where the row starts.') })).describe('The first UPLOAD_MAX_ERRORS refused rows; `rejected` counts them all.'),
  errorsTruncated: z.boolean(),
});
