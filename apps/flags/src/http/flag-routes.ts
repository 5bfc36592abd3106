/** Thin routes of flags, segments, scheduled changes and the audit trail: validated input, the admin check on writes, one use case. */
import type { RouteRegistrar } from '@bulwark/service-kit';
import { auditTrail, getFlag, listFlags, listSegments, putFlag, putSegment, removeFlag, removeSegment, setKilled, type FlagsDeps } from '../domain/flags.ts';
import { cancelScheduled, listScheduled, scheduleChange } from '../domain/schedule.ts';
import { actorOf, ADMIN_HEADERS, requireAdmin } from './admin.ts';
import {
  AuditQuery,
  AuditResponse,
  FlagBody,
  FlagKeyParams,
  FlagListResponse,
  FlagResponse,
  IdParams,
  KillBody,
  ScheduleBody,
  ScheduledChangeListResponse,
  ScheduledChangeResponse,
  SegmentBody,
  SegmentListResponse,
  SegmentResponse,
} from './schemas.ts';

export function registerFlagRoutes(r: RouteRegistrar, deps: FlagsDeps): void {
  const admin = { headers: ADMIN_HEADERS, middleware: [requireAdmin] };
  const adminErrors = (...codes: string[]) => ['FLAGS_ADMIN_ONLY', 'FLAGS_TENANT_REQUIRED', ...codes];

  r.get('/v1/flags', {
    summary: "The tenant's flags with every environment's targeting",
    errors: ['FLAGS_TENANT_REQUIRED'],
    responses: { 200: FlagListResponse },
    handler: async () => ({ status: 200, body: { flags: await listFlags(deps) } }),
  });
  r.get('/v1/flags/:key', {
    summary: 'One flag',
    errors: ['FLAGS_TENANT_REQUIRED', 'FLAGS_FLAG_NOT_FOUND'],
    params: FlagKeyParams,
    responses: { 200: FlagResponse },
    handler: async ({ params }) => ({ status: 200, body: await getFlag(deps, params.key) }),
  });
  r.put('/v1/flags/:key', {
    summary: 'Create or replace a flag: typed variants and per-environment targeting (admin; audited)',
    errors: adminErrors('FLAGS_INVALID_FLAG', 'FLAGS_VERSION_CONFLICT'),
    params: FlagKeyParams,
    body: FlagBody,
    ...admin,
    responses: { 200: FlagResponse, 201: FlagResponse },
    handler: async ({ params, body, req }) => {
      const { flag, created } = await putFlag(deps, actorOf(req), params.key, body);
      return created ? { status: 201, body: flag } : { status: 200, body: flag };
    },
  });
  r.delete('/v1/flags/:key', {
    summary: 'Delete a flag with its scheduled changes and experiments (admin; audited)',
    errors: adminErrors('FLAGS_FLAG_NOT_FOUND'),
    params: FlagKeyParams,
    ...admin,
    responses: { 204: null },
    handler: async ({ params, req }) => {
      await removeFlag(deps, actorOf(req), params.key);
      return { status: 204 };
    },
  });
  r.put('/v1/flags/:key/kill', {
    summary: 'Kill switch: every environment serves its off variant (killed: true) until revived (admin; audited)',
    errors: adminErrors('FLAGS_FLAG_NOT_FOUND'),
    params: FlagKeyParams,
    body: KillBody,
    ...admin,
    responses: { 200: FlagResponse },
    handler: async ({ params, body, req }) => ({ status: 200, body: await setKilled(deps, actorOf(req), params.key, body.killed, body.reason) }),
  });
  r.post('/v1/flags/:key/scheduled-changes', {
    summary: "Schedule a change of one environment's targeting or of the kill switch at a time (admin; applied and audited as the scheduler's change by you)",
    errors: adminErrors('FLAGS_FLAG_NOT_FOUND', 'FLAGS_UNKNOWN_ENVIRONMENT'),
    params: FlagKeyParams,
    body: ScheduleBody,
    ...admin,
    responses: { 201: ScheduledChangeResponse },
    handler: async ({ params, body, req }) => ({ status: 201, body: await scheduleChange(deps, actorOf(req), params.key, body.applyAt, body.change) }),
  });
  r.get('/v1/flags/:key/scheduled-changes', {
    summary: "A flag's scheduled changes, pending and done",
    errors: ['FLAGS_TENANT_REQUIRED'],
    params: FlagKeyParams,
    responses: { 200: ScheduledChangeListResponse },
    handler: async ({ params }) => ({ status: 200, body: { changes: await listScheduled(deps, params.key) } }),
  });
  r.delete('/v1/scheduled-changes/:id', {
    summary: 'Cancel a pending scheduled change (admin)',
    errors: adminErrors('FLAGS_SCHEDULED_CHANGE_NOT_FOUND'),
    params: IdParams,
    ...admin,
    responses: { 200: ScheduledChangeResponse },
    handler: async ({ params }) => ({ status: 200, body: await cancelScheduled(deps, params.id) }),
  });
  r.get('/v1/flags/:key/audit', {
    summary: "A flag's audit trail, newest first: who changed what, with the flag before and after",
    errors: ['FLAGS_TENANT_REQUIRED'],
    params: FlagKeyParams,
    query: AuditQuery,
    responses: { 200: AuditResponse },
    handler: async ({ params, query }) => ({ status: 200, body: { changes: await auditTrail(deps, { entity: 'flag', key: params.key, ...query }) } }),
  });
  r.get('/v1/flag-changes', {
    summary: "The tenant's audit trail of flags, segments and experiments, newest first",
    errors: ['FLAGS_TENANT_REQUIRED'],
    query: AuditQuery,
    responses: { 200: AuditResponse },
    handler: async ({ query }) => ({ status: 200, body: { changes: await auditTrail(deps, query) } }),
  });

  r.get('/v1/segments', {
    summary: "The tenant's segments",
    errors: ['FLAGS_TENANT_REQUIRED'],
    responses: { 200: SegmentListResponse },
    handler: async () => ({ status: 200, body: { segments: await listSegments(deps) } }),
  });
  r.put('/v1/segments/:key', {
    summary: 'Create or replace a segment: listed keys in or out, else attribute clauses (admin; audited)',
    errors: adminErrors(),
    params: FlagKeyParams,
    body: SegmentBody,
    ...admin,
    responses: { 200: SegmentResponse, 201: SegmentResponse },
    handler: async ({ params, body, req }) => {
      const { segment, created } = await putSegment(deps, actorOf(req), params.key, body);
      return created ? { status: 201, body: segment } : { status: 200, body: segment };
    },
  });
  r.delete('/v1/segments/:key', {
    summary: "Delete a segment no flag's rules name (admin; audited)",
    errors: adminErrors('FLAGS_SEGMENT_NOT_FOUND', 'FLAGS_SEGMENT_IN_USE'),
    params: FlagKeyParams,
    ...admin,
    responses: { 204: null },
    handler: async ({ params, req }) => {
      await removeSegment(deps, actorOf(req), params.key);
      return { status: 204 };
    },
  });
}
