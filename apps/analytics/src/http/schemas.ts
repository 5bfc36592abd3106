/** Request and response schemas of the analytics routes (they validate, and /openapi.json is made from them). */
import { z } from 'zod';
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

export const SeriesQuery = z.object({
  type: z.string().min(1).max(64).describe('Event type, e.g. purchase or shortener.link-clicked.'),
  from: z.iso.datetime({ offset: true }),
  to: z.iso.datetime({ offset: true }).describe('Exclusive.'),
  bucket: z.enum(BUCKETS).default('hour'),
  agg: z.enum(AGGREGATES).default('count'),
  field: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/).optional().describe('The numeric property sum/avg/min/max read (events where it is not a number are left out).'),
});

export const SeriesResponse = z.object({
  type: z.string(),
  bucket: z.enum(BUCKETS),
  agg: z.enum(AGGREGATES),
  field: z.string().nullable(),
  points: z.array(z.object({ at: z.string().describe('Start of the bucket (UTC).'), value: z.number().nullable(), count: z.number().int().describe('Events in the bucket that the value is computed from.') })),
});
