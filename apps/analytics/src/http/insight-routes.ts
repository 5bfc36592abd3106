/** Funnels and cohort retention of the tenant's events (rules in domain/insights.ts). */
import type { DbPool } from '@bulwark/db';
import type { RouteRegistrar } from '@bulwark/service-kit';
import { cohortsOf, funnelProblem, funnelSteps, retentionProblem } from '../domain/insights.ts';
import { queryFunnel, queryRetention } from '../store/query-store.ts';
import { FunnelQuery, FunnelResponse, RetentionQuery, RetentionResponse } from './schemas.ts';
import { queryInvalid, requireTenant, scopeOf, TENANT_HEADERS } from './scope.ts';

export function registerInsightRoutes(r: RouteRegistrar, deps: { pool: DbPool; maxCohorts: number }): void {
  r.get('/v1/funnel', {
    summary: "Users through ordered steps (event types) within a window of each user's first step, with conversion to the previous and the first step",
    tags: ['insights'],
    errors: ['ANALYTICS_TENANT_REQUIRED', 'ANALYTICS_QUERY_INVALID'],
    query: FunnelQuery,
    headers: TENANT_HEADERS,
    middleware: [requireTenant],
    responses: { 200: FunnelResponse },
    handler: async ({ query }) => {
      const q = { ...scopeOf(query), steps: query.steps.split(',').map((s) => s.trim()), windowSeconds: query.windowSeconds };
      const problem = funnelProblem(q) ?? (q.steps.some((s) => s === '' || s.length > 64) ? 'a step is an event type of 1 to 64 characters' : undefined);
      if (problem) throw queryInvalid(problem);
      return { status: 200, body: { windowSeconds: q.windowSeconds, steps: funnelSteps(q.steps, await queryFunnel(deps.pool, q)) } };
    },
  });

  r.get('/v1/retention', {
    summary: 'Cohort retention: users grouped by the day or week of their first cohortType event, and how many of each did a returnType event k periods later',
    tags: ['insights'],
    errors: ['ANALYTICS_TENANT_REQUIRED', 'ANALYTICS_QUERY_INVALID'],
    query: RetentionQuery,
    headers: TENANT_HEADERS,
    middleware: [requireTenant],
    responses: { 200: RetentionResponse },
    handler: async ({ query }) => {
      const q = { ...scopeOf(query), cohortType: query.cohortType, returnType: query.returnType, period: query.period, periods: query.periods };
      const problem = retentionProblem(q, deps.maxCohorts);
      if (problem) throw queryInvalid(problem);
      const cohorts = cohortsOf(await queryRetention(deps.pool, q), q.periods);
      return { status: 200, body: { period: q.period, cohorts: cohorts.map((c) => ({ start: c.start.toISOString(), size: c.size, retained: c.retained })) } };
    },
  });
}
