/** What every analytics route shares: the tenant the gateway names, and the query scope (range, filters, segment) as domain values. */
import type { Request, RequestHandler } from 'express';
import { parseFilters, type EventScope } from '../domain/series.ts';
import { analyticsError } from '../errors.ts';

export const TENANT_HEADERS = [{ name: 'x-auth-tenant', description: "The verified token's tenant (set by the gateway).", required: true }] as const;
export const tenantOf = (req: Request): string => req.get('x-auth-tenant')!;
export const requireTenant: RequestHandler = (req, _res, next) => {
  if (!req.get('x-auth-tenant')) return next(analyticsError('ANALYTICS_TENANT_REQUIRED', 'events belong to a tenant'));
  next();
};

const list = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

const invalid = (reason: string) => analyticsError('ANALYTICS_QUERY_INVALID', reason, { reason });

/** The scope of a validated query; 422 ANALYTICS_QUERY_INVALID for a filter that is not key:value or a range that is empty. */
export function scopeOf(query: { from: string; to: string; filter?: string | string[] | undefined; segment?: string | undefined; segmentFilter?: string | string[] | undefined }): EventScope {
  const filters = parseFilters(list(query.filter));
  if (typeof filters === 'string') throw invalid(filters);
  const segmentFilters = parseFilters(list(query.segmentFilter));
  if (typeof segmentFilters === 'string') throw invalid(segmentFilters);
  if (segmentFilters.length > 0 && !query.segment) throw invalid('segmentFilter needs a segment (the event type of the segment)');
  const from = new Date(query.from);
  const to = new Date(query.to);
  if (from.getTime() >= to.getTime()) throw invalid('from must precede to');
  return { from, to, filters, segment: query.segment ? { type: query.segment, filters: segmentFilters } : undefined };
}

export { invalid as queryInvalid };
