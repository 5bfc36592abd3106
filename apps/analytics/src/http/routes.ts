/**
 * The analytics routes, for the verified user of the tenant the gateway names
 * (x-auth-tenant): POST /v1/events (one or a batch) and GET /v1/series here;
 * funnels and retention (insight-routes.ts), the export and the live feed
 * (stream-routes.ts) and uploads (upload-routes.ts) beside.
 */
import type { DbPool } from '@bulwark/db';
import type { RouteRegistrar } from '@bulwark/service-kit';
import { ingestEvents, type PublishEvents } from '../domain/ingest-events.ts';
import { readSeries } from '../domain/read-series.ts';
import { seriesProblem } from '../domain/series.ts';
import { analyticsError } from '../errors.ts';
import type { AnalyticsMetrics } from '../metrics.ts';
import { registerInsightRoutes } from './insight-routes.ts';
import { EventsBody, IngestResponse, SeriesQuery, SeriesResponse } from './schemas.ts';
import { requireTenant, scopeOf, tenantOf, TENANT_HEADERS } from './scope.ts';
import { registerStreamRoutes, type LiveFeeds } from './stream-routes.ts';
import { registerUploadRoutes, type UploadLimits } from './upload-routes.ts';

export interface RouteDeps {
  metrics: AnalyticsMetrics;
  pool: DbPool;
  publish: PublishEvents;
  pastDays: number;
  futureMs: number;
  maxBuckets: number;
  maxCohorts: number;
  exportFetchRows: number;
  livePollMs: number;
  upload: UploadLimits;
  /** The open live feeds (the app ends them at drain). */
  liveFeeds: LiveFeeds;
}

export function registerRoutes(r: RouteRegistrar, deps: RouteDeps): void {
  r.post('/v1/events', {
    summary: 'Ingest one event or a batch of up to 1,000: each validated on its own, the good ones accepted (202 with a per-row report), 422 when none is',
    tags: ['events'],
    errors: ['ANALYTICS_TENANT_REQUIRED', 'ANALYTICS_EVENTS_INVALID', 'ANALYTICS_INGEST_UNAVAILABLE'],
    body: EventsBody,
    headers: TENANT_HEADERS,
    middleware: [requireTenant],
    responses: { 202: IngestResponse },
    handler: async ({ body, req }) => {
      const single = !('events' in body && Array.isArray(body.events));
      const rows = single ? [body] : (body.events as unknown[]);
      const report = await ingestEvents(rows, single, tenantOf(req), { now: new Date(), pastDays: deps.pastDays, futureMs: deps.futureMs }, deps.publish);
      return { status: 202, body: report };
    },
  });

  r.get('/v1/series', {
    summary: "A time series of the tenant's events of one type: count, sum/avg/min/max or an exact percentile of a numeric property, per minute, hour or day; filtered by properties and a user segment; from the hourly rollups when they can answer",
    tags: ['series'],
    errors: ['ANALYTICS_TENANT_REQUIRED', 'ANALYTICS_SERIES_INVALID', 'ANALYTICS_QUERY_INVALID'],
    query: SeriesQuery,
    headers: TENANT_HEADERS,
    middleware: [requireTenant],
    responses: { 200: SeriesResponse },
    handler: async ({ query }) => {
      const base = { from: new Date(query.from), to: new Date(query.to), bucket: query.bucket, agg: query.agg, field: query.field };
      const problem = seriesProblem(base, deps.maxBuckets);
      if (problem) throw analyticsError('ANALYTICS_SERIES_INVALID', problem, { reason: problem });
      const q = { ...scopeOf(query), ...base, type: query.type, source: query.source };
      const { source, points } = await readSeries(deps.pool, q);
      deps.metrics.seriesReads.inc({ source });
      return { status: 200, body: { type: q.type, bucket: q.bucket, agg: q.agg, field: q.field ?? null, source, points: points.map((p) => ({ at: p.bucket.toISOString(), value: p.value, count: p.count })) } };
    },
  });

  registerInsightRoutes(r, deps);
  registerStreamRoutes(r, deps);
  registerUploadRoutes(r, deps);
}
