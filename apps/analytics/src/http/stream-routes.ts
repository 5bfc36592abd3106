/**
 * Large and live answers, streamed: GET /v1/export (the scope's events as CSV
 * or NDJSON, read through a server-side cursor FETCH by FETCH, each written
 * only when the client took the last: backpressure reaches PostgreSQL) and
 * GET /v1/live (server-sent events: the tenant's hourly buckets as they
 * change, resumable by Last-Event-ID or `since`). At drain every live feed
 * ends cleanly (the client reconnects elsewhere with its Last-Event-ID)
 * instead of holding the shutdown until its deadline.
 */
import { once } from 'node:events';
import type { RequestHandler, Response } from 'express';
import { withTenant, withTransaction, type DbPool } from '@bulwark/db';
import type { RouteRegistrar } from '@bulwark/service-kit';
import { LiveFeed } from '../domain/live-feed.ts';
import { declareExportCursor, fetchExport, rollupChangesSince, type ExportRow as StoredRow, type RollupChange } from '../store/query-store.ts';
import { ExportQuery, ExportRow, LiveBucket, LiveQuery } from './schemas.ts';
import { requireTenant, scopeOf, tenantOf, TENANT_HEADERS } from './scope.ts';

const CSV_COLUMNS = ['id', 'type', 'occurredAt', 'userId', 'source', 'props'];
const csvCell = (v: string | null): string => (v === null ? '' : /[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v);
const csvLine = (r: StoredRow): string => [r.event_id, r.type, r.occurred_at.toISOString(), r.user_id, r.source, JSON.stringify(r.props)].map(csvCell).join(',') + '\r\n';
const ndjsonLine = (r: StoredRow): string => JSON.stringify({ id: r.event_id, type: r.type, occurredAt: r.occurred_at.toISOString(), userId: r.user_id, source: r.source, props: r.props }) + '\n';

/** Resolves when the client has taken what was written (drain), or is gone (close). */
async function writable(res: Response): Promise<void> {
  const ac = new AbortController();
  await Promise.race([once(res, 'drain', { signal: ac.signal }), once(res, 'close', { signal: ac.signal })]).catch(() => undefined);
  ac.abort();
}

/** Live feed: overlap of re-read changes (see domain/live-feed.ts), rows per poll, heartbeat. */
const OVERLAP_MICROS = 5_000_000n;
const LIVE_POLL_ROWS = 5_000;
const HEARTBEAT_MS = 15_000;

/** The open live feeds of this process, ended together at drain (`service.onDrain(() => feeds.endAll())`). */
export class LiveFeeds {
  readonly #open = new Set<Response>();
  add(res: Response): void {
    this.#open.add(res);
  }
  delete(res: Response): void {
    this.#open.delete(res);
  }
  get size(): number {
    return this.#open.size;
  }
  endAll(): void {
    for (const res of this.#open) res.end();
  }
}

export function registerStreamRoutes(r: RouteRegistrar, deps: { pool: DbPool; exportFetchRows: number; livePollMs: number; liveFeeds: LiveFeeds }): void {
  const { liveFeeds } = deps;

  const streamExport: RequestHandler = (req, res, next) => {
    let query: ReturnType<typeof ExportQuery.parse>;
    let scope: ReturnType<typeof scopeOf>;
    try {
      query = ExportQuery.parse(req.query);
      scope = scopeOf(query);
    } catch (err) {
      next(err);
      return;
    }
    const csv = query.format === 'csv';
    const line = csv ? csvLine : ndjsonLine;
    let closed = false;
    res.on('close', () => (closed = true));
    withTransaction(
      deps.pool,
      async (tx) => {
        await declareExportCursor(tx, 'analytics_export', query.type, scope);
        let rows = await fetchExport(tx, 'analytics_export', deps.exportFetchRows);
        res.writeHead(200, { 'content-type': csv ? 'text/csv; charset=utf-8' : 'application/x-ndjson', 'content-disposition': `attachment; filename="events.${query.format}"`, 'cache-control': 'no-store' });
        if (csv) res.write(CSV_COLUMNS.join(',') + '\r\n');
        while (rows.length > 0 && !closed) {
          if (!res.write(rows.map(line).join(''))) await writable(res);
          if (rows.length < deps.exportFetchRows || closed) break;
          rows = await fetchExport(tx, 'analytics_export', deps.exportFetchRows);
        }
      },
      { readOnly: true, maxRetries: 0 },
    ).then(
      () => res.end(),
      // Before the head: a problem. After it: the client sees the stream cut (no final chunk), never a silent short file.
      (err: unknown) => (res.headersSent ? res.destroy(err as Error) : next(err)),
    );
  };

  r.get('/v1/export', {
    summary: "The scope's events streamed as CSV (header id,type,occurredAt,userId,source,props; props as JSON) or NDJSON, in storage order (day by day), read through a cursor with backpressure",
    description: 'A failure after the first row cuts the chunked response short (no terminating chunk): a client that did not see the end has an incomplete file.',
    tags: ['export'],
    errors: ['ANALYTICS_TENANT_REQUIRED', 'ANALYTICS_QUERY_INVALID'],
    query: ExportQuery,
    headers: TENANT_HEADERS,
    middleware: [requireTenant, streamExport],
    produces: ['application/x-ndjson', 'text/csv'],
    responses: { 200: ExportRow.describe('format=ndjson: one such object per line; format=csv: one row per event with these columns (props as JSON).') },
    handler: () => {
      throw new Error('the export middleware answers this route');
    },
  });

  const openLive: RequestHandler = (req, res, next) => {
    const tenant = tenantOf(req);
    let start: bigint;
    try {
      const lastId = req.get('last-event-id');
      const since = LiveQuery.parse(req.query).since;
      start = lastId && /^\d{1,20}$/.test(lastId) ? BigInt(lastId) : BigInt(since ? Date.parse(since) : Date.now()) * 1000n;
    } catch (err) {
      next(err);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform', 'x-accel-buffering': 'no' });
    res.flushHeaders();
    const feed = new LiveFeed<RollupChange>(start, OVERLAP_MICROS);
    let timer: NodeJS.Timeout | undefined;
    let closed = false;
    let quietSince = Date.now();
    liveFeeds.add(res);
    res.on('close', () => {
      closed = true;
      clearTimeout(timer);
      liveFeeds.delete(res);
    });
    const poll = async (): Promise<void> => {
      const rows = await withTenant(tenant, () => rollupChangesSince(deps.pool, feed.pollFrom(), LIVE_POLL_ROWS));
      if (closed) return;
      const news = feed.take(rows);
      for (const c of news) {
        const bucket = LiveBucket.parse({ type: c.type, field: c.field, at: c.bucket.toISOString(), count: c.n, sum: c.sum, min: c.min, max: c.max });
        res.write(`id: ${feed.cursor}\nevent: bucket\ndata: ${JSON.stringify(bucket)}\n\n`);
      }
      if (news.length > 0) quietSince = Date.now();
      else if (Date.now() - quietSince >= HEARTBEAT_MS) {
        res.write(': ping\n\n');
        quietSince = Date.now();
      }
    };
    const loop = (): void => {
      if (closed) return;
      poll().then(
        () => void (closed || (timer = setTimeout(loop, deps.livePollMs))),
        () => res.destroy(), // the client reconnects with its Last-Event-ID
      );
    };
    loop();
  };

  r.get('/v1/live', {
    summary: "Server-sent events for live dashboards: `event: bucket` with an hourly bucket's new totals (count, or sum/min/max of a numeric property) whenever events land in it, late ones included; id resumes (Last-Event-ID); `: ping` heartbeats",
    tags: ['live'],
    errors: ['ANALYTICS_TENANT_REQUIRED'],
    query: LiveQuery,
    headers: [...TENANT_HEADERS, { name: 'Last-Event-ID', description: 'The last id received: the stream resumes after it (overrides `since`).' }],
    middleware: [requireTenant, openLive],
    responses: { 200: LiveBucket.describe('Each `data:` line of the text/event-stream is one bucket as JSON; a later one for the same type, field and hour replaces it.') },
    handler: () => {
      throw new Error('the live middleware answers this route');
    },
  });
}
