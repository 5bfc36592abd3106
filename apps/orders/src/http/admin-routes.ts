/** Operational routes: projection lag, parked events, rebuild (zero-downtime swap), relay slot status. */
import type { RouteRegistrar } from '@bulwark/service-kit';
import { z } from 'zod';
import { ordersError } from '../errors.ts';
import type { Workers } from '../workers.ts';
import { ParkedEventsQuery, ParkedEventsResponse, ProjectionsResponse, RebuildResponse, RelayParkedResponse, RelayRepublishResponse, RelayResponse } from './schemas.ts';

export function registerAdminRoutes(r: RouteRegistrar, workers: Workers): void {
  r.get('/projections', {
    summary: 'Projection checkpoints and lag (events not yet applied)',
    responses: { 200: ProjectionsResponse },
    handler: async () => ({ status: 200, body: { projections: await workers.projectionStatus() } }),
  });
  r.post('/projections/:name/rebuild', {
    summary: 'Replay a projection from position 0 into fresh tables and swap them in',
    errors: ['ORDERS_UNKNOWN_PROJECTION'],
    params: z.object({ name: z.string().min(1).max(64) }),
    responses: { 200: RebuildResponse },
    handler: async ({ params }) => {
      if (!workers.hasProjection(params.name)) throw ordersError('ORDERS_UNKNOWN_PROJECTION', `no projection ${params.name}`, { projection: params.name });
      return { status: 200, body: await workers.rebuild(params.name) };
    },
  });
  r.get('/projections/:name/parked', {
    summary: 'Events a projection could not apply and parked, in log order (a rebuild re-applies them)',
    errors: ['ORDERS_UNKNOWN_PROJECTION'],
    params: z.object({ name: z.string().min(1).max(64) }),
    query: ParkedEventsQuery,
    responses: { 200: ParkedEventsResponse },
    handler: async ({ params, query }) => {
      if (!workers.hasProjection(params.name)) throw ordersError('ORDERS_UNKNOWN_PROJECTION', `no projection ${params.name}`, { projection: params.name });
      return { status: 200, body: { projection: params.name, events: await workers.parkedEvents(params.name, query.limit) } };
    },
  });
  r.get('/relay', {
    summary: 'CDC relay and replication slot status',
    responses: { 200: RelayResponse },
    handler: async () => ({ status: 200, body: await workers.relayStatus() }),
  });
  r.get('/relay/parked', {
    summary: 'Committed events the relay could not publish (data refused by the topic schema), oldest first',
    query: ParkedEventsQuery,
    responses: { 200: RelayParkedResponse },
    handler: async ({ query }) => ({ status: 200, body: { events: await workers.relayParked(query.limit) } }),
  });
  r.post('/relay/parked/republish', {
    summary: 'Publish the parked events again from the event log (after their data or the schema was fixed)',
    query: ParkedEventsQuery,
    responses: { 200: RelayRepublishResponse },
    handler: async ({ query }) => ({ status: 200, body: await workers.republishRelayParked(query.limit) }),
  });
}
