/**
 * POST /v1/uploads: a CSV or NDJSON file of events, streamed (never held
 * whole). Oversize is refused before reading when Content-Length says so, and
 * by a byte count while reading otherwise; either way the connection closes
 * rather than reading the rest. The use case is domain/ingest-upload.ts.
 */
import type { RouteRegistrar } from '@bulwark/service-kit';
import { z } from 'zod';
import type { PublishEvents } from '../domain/ingest-events.ts';
import { ingestUpload, type UploadFormat } from '../domain/ingest-upload.ts';
import { analyticsError } from '../errors.ts';
import type { AnalyticsMetrics } from '../metrics.ts';
import { UploadReport } from './schemas.ts';
import { requireTenant, tenantOf, TENANT_HEADERS } from './scope.ts';

export interface UploadLimits {
  maxBytes: number;
  maxRecordChars: number;
  maxErrors: number;
  chunkRows: number;
}

const FORMATS: Record<string, UploadFormat> = { 'text/csv': 'csv', 'application/x-ndjson': 'ndjson', 'application/jsonl': 'ndjson', 'application/ndjson': 'ndjson' };

export function registerUploadRoutes(r: RouteRegistrar, deps: { publish: PublishEvents; pastDays: number; futureMs: number; upload: UploadLimits; metrics: AnalyticsMetrics }): void {
  const { upload } = deps;
  r.post('/v1/uploads', {
    summary: `Upload events as CSV (text/csv: header id,type,occurredAt[,userId][,props as JSON]) or NDJSON (application/x-ndjson: one event object per line), up to ${upload.maxBytes} bytes, streamed; each row validated like POST /v1/events, the good ones accepted in chunks as they are read`,
    description: '202 reports exactly what went to Kafka and each refused row (with its line). Over the size: 413 before reading (Content-Length) or as soon as the count passes it, naming the rows accepted before. Kafka failing part-way: 503 naming them too; resending the file stores nothing twice (ids).',
    tags: ['events'],
    errors: ['ANALYTICS_TENANT_REQUIRED', 'ANALYTICS_UPLOAD_UNSUPPORTED', 'ANALYTICS_UPLOAD_TOO_LARGE', 'ANALYTICS_UPLOAD_INVALID', 'ANALYTICS_INGEST_UNAVAILABLE'],
    rawBody: { schema: z.string().describe('The CSV (or, with application/x-ndjson, the NDJSON) text.'), contentType: 'text/csv' },
    headers: TENANT_HEADERS,
    middleware: [requireTenant],
    responses: { 202: UploadReport },
    handler: async ({ req, res }) => {
      const format = FORMATS[(req.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase()];
      if (!format) throw analyticsError('ANALYTICS_UPLOAD_UNSUPPORTED', 'send text/csv or application/x-ndjson');
      const length = Number(req.get('content-length') ?? 0);
      try {
        if (length > upload.maxBytes) throw analyticsError('ANALYTICS_UPLOAD_TOO_LARGE', `Content-Length ${length} is over ${upload.maxBytes} bytes; nothing was read`, { maxBytes: upload.maxBytes, accepted: 0, rejected: 0 });
        const window = { now: new Date(), pastDays: deps.pastDays, futureMs: deps.futureMs };
        const report = await ingestUpload(req as AsyncIterable<Buffer>, { format, tenant: tenantOf(req), window, ...upload }, deps.publish);
        deps.metrics.uploadRows.inc({ format, outcome: 'accepted' }, report.accepted);
        deps.metrics.uploadRows.inc({ format, outcome: 'rejected' }, report.rejected);
        return { status: 202, body: report };
      } catch (err) {
        // A refusal part-way names what was accepted and rejected before it (extensions).
        const counts = (err as { extensions?: { accepted?: unknown; rejected?: unknown } }).extensions;
        if (typeof counts?.accepted === 'number') deps.metrics.uploadRows.inc({ format, outcome: 'accepted' }, counts.accepted);
        if (typeof counts?.rejected === 'number') deps.metrics.uploadRows.inc({ format, outcome: 'rejected' }, counts.rejected);
        // The rest of the body is not read: close the connection after the answer instead of draining it.
        if (!req.readableEnded) res.setHeader('connection', 'close');
        throw err;
      }
    },
  });
}
