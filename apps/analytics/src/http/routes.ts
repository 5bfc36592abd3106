/**
 * The analytics routes, for the verified user of the tenant the gateway names
 * (x-auth-tenant): POST /v1/events (one or a batch) and GET /v1/series.
 */
import type { Request, RequestHandler } from 'express';
import type { DbPool } from '@bulwark/db';
import type { RouteRegistrar } from '@bulwark/service-kit';
import { ingestEvents, type PublishEvents } from '../domain/ingest-events.ts';
import { seriesProblem } from '../domain/series.ts';
import { analyticsError } from '../errors.ts';
import { querySeries } from '../store/event-store.ts';
import { EventsBody, IngestResponse, SeriesQuery, SeriesResponse } from './schemas.ts';

export interface RouteDeps {
  pool: DbPool;
  publish: PublishEvents;
  pastDays: number;
  futureMs: number;
  maxBuckets: number;
}

const TENANT_HEADERS = [{ name: 'x-auth-tenant', description: "The verified token's tenant (set by the gateway).", required: true }] as const;
const tenantOf = (req: Request): string => req.get('x-auth-tenant')!;
const requireTenant: RequestHandler = (req, _res, next) => {
  if (!req.get('x-auth-tenant')) return next(analyticsError('ANALYTICS_TENANT_REQUIRED', 'events belong to a tenant'));
  next();
};

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
    summary: "A time series of the tenant's events of one type: count, or sum/avg/min/max of a numeric property, per minute, hour or day",
    tags: ['series'],
    errors: ['ANALYTICS_TENANT_REQUIRED', 'ANALYTICS_SERIES_INVALID'],
    query: SeriesQuery,
    headers: TENANT_HEADERS,
    middleware: [requireTenant],
    responses: { 200: SeriesResponse },
    handler: async ({ query }) => {
      const q = { type: query.type, from: new Date(query.from), to: new Date(query.to), bucket: query.bucket, agg: query.agg, field: query.field };
      const problem = seriesProblem(q, deps.maxBuckets);
      if (problem) throw analyticsError('ANALYTICS_SERIES_INVALID', problem, { reason: problem });
      const points = await querySeries(deps.pool, q);
      return { status: 200, body: { type: q.type, bucket: q.bucket, agg: q.agg, field: q.field ?? null, points: points.map((p) => ({ at: p.bucket.toISOString(), value: p.value, count: p.count })) } };
    },
  });
}
