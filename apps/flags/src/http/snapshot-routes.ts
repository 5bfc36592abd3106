/**
 * Snapshots for the OpenFeature provider: the JSON snapshot of a tenant's
 * environment, and the same as a server-sent-events stream that sends a new
 * snapshot (SSE id = revision) after every change. A reconnect naming its
 * revision in Last-Event-ID gets nothing until something newer exists. A
 * comment line every SSE_HEARTBEAT_MS lets the provider tell a quiet stream
 * from a dead one. At drain every stream ends and providers reconnect to
 * another replica.
 */
import type { RequestHandler } from 'express';
import type { RouteRegistrar } from '@bulwark/service-kit';
import { requireTenant, type FlagsDeps } from '../domain/flags.ts';
import type { Stream } from '../domain/snapshot-hub.ts';
import { EnvironmentQuery, SnapshotResponse } from './schemas.ts';

export interface SnapshotRouteDeps extends FlagsDeps {
  defaultEnvironment: string;
  heartbeatMs: number;
}

export function registerSnapshotRoutes(r: RouteRegistrar, deps: SnapshotRouteDeps): void {
  r.get('/v1/snapshot', {
    summary: "The tenant's snapshot of an environment: flags projected onto it, segments, revision (what providers evaluate locally)",
    errors: ['FLAGS_TENANT_REQUIRED'],
    query: EnvironmentQuery,
    responses: { 200: SnapshotResponse },
    handler: async ({ query }) => {
      const tenant = requireTenant();
      const { snapshot } = await deps.hub.current(tenant, query.environment ?? deps.defaultEnvironment);
      return { status: 200, body: snapshot, headers: { etag: `"${snapshot.revision}"`, 'cache-control': 'no-cache' } };
    },
  });

  const openStream: RequestHandler = (req, res, next) => {
    let tenant: string;
    try {
      tenant = requireTenant();
    } catch (err) {
      next(err);
      return;
    }
    const environment = EnvironmentQuery.parse(req.query).environment ?? deps.defaultEnvironment;
    const lastEventId = Number(req.get('last-event-id') ?? '0');
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform', 'x-accel-buffering': 'no' });
    res.flushHeaders();
    const stream: Stream = {
      environment,
      revision: Number.isSafeInteger(lastEventId) && lastEventId > 0 ? lastEventId : 0,
      send: (frame) => void res.write(frame),
      end: () => res.end(),
    };
    const heartbeat = setInterval(() => res.write(': ping\n\n'), deps.heartbeatMs);
    let unsubscribe: (() => void) | undefined;
    let closed = false;
    res.on('close', () => {
      closed = true;
      clearInterval(heartbeat);
      unsubscribe?.();
    });
    deps.hub.subscribe(tenant, stream).then(
      (off) => (closed ? off() : (unsubscribe = off)),
      () => res.destroy(),
    );
  };
  r.get('/v1/snapshot/stream', {
    summary: 'Server-sent events: `event: snapshot` with the whole snapshot (id = revision) now if the Last-Event-ID is behind, then after every change; `: ping` heartbeats',
    errors: ['FLAGS_TENANT_REQUIRED'],
    query: EnvironmentQuery,
    headers: [{ name: 'Last-Event-ID', description: 'The revision the client has: no snapshot is sent until a newer one exists.' }],
    middleware: [openStream],
    responses: { 200: SnapshotResponse.describe('Each `data:` line of the text/event-stream is one snapshot as JSON.') },
    handler: () => {
      throw new Error('the snapshot stream middleware answers this route');
    },
  });
}
