/**
 * Use case: ingest an uploaded file (CSV or NDJSON) as a stream. Bytes are
 * counted as they come (past `maxBytes` the upload stops: 413 naming what was
 * accepted before), split into records, turned into events and validated per
 * row; every `chunkRows` good rows are published and awaited before more
 * bytes are read, so a slow Kafka slows the client down (backpressure), and
 * at most one chunk is held. The report says exactly what was handed to
 * Kafka; a failure part-way says it too (`accepted` on the problem).
 *
 * CSV: a header row naming at least id, type and occurredAt; optional
 * userId and props (a JSON object); other columns are refused.
 */
import { StringDecoder } from 'node:string_decoder';
import { analyticsError } from '../errors.ts';
import { validateEvents, type AcceptWindow, type AnalyticsEvent, type RowError } from './event-types.ts';
import type { PublishEvents } from './ingest-events.ts';
import { csvSplitter, ndjsonSplitter, type Record_ } from './upload-parser.ts';

export type UploadFormat = 'csv' | 'ndjson';

export interface UploadOptions {
  format: UploadFormat;
  tenant: string;
  window: AcceptWindow;
  maxBytes: number;
  maxRecordChars: number;
  maxErrors: number;
  chunkRows: number;
}

export interface UploadReport {
  accepted: number;
  rejected: number;
  rows: number;
  bytes: number;
  errors: (RowError & { line: number })[];
  errorsTruncated: boolean;
}

const CSV_KNOWN = new Set(['id', 'type', 'occurredAt', 'userId', 'props']);

/** The CSV header's column positions, or why it is refused. */
export function csvColumns(header: readonly string[]): Map<string, number> | string {
  const columns = new Map<string, number>();
  for (const [i, raw] of header.entries()) {
    const name = raw.trim();
    if (!CSV_KNOWN.has(name)) return `unknown column ${JSON.stringify(name)} (id, type, occurredAt, userId, props)`;
    if (columns.has(name)) return `column ${name} appears twice`;
    columns.set(name, i);
  }
  for (const need of ['id', 'type', 'occurredAt']) if (!columns.has(need)) return `the header lacks ${need}`;
  return columns;
}

/** A CSV record as the object the single-event form would carry (empty cells are absent); a string is why not. */
export function csvRowObject(fields: readonly string[], columns: Map<string, number>): Record<string, unknown> | string {
  const row: Record<string, unknown> = {};
  for (const [name, i] of columns) {
    const cell = fields[i];
    if (cell === undefined || cell === '') continue;
    if (name === 'props') {
      try {
        row.props = JSON.parse(cell);
      } catch {
        return 'props is not JSON';
      }
    } else row[name] = cell;
  }
  if (fields.length > columns.size) return `${fields.length} fields, the header has ${columns.size}`;
  return row;
}

export async function ingestUpload(body: AsyncIterable<Buffer>, o: UploadOptions, publish: PublishEvents): Promise<UploadReport> {
  const report: UploadReport = { accepted: 0, rejected: 0, rows: 0, bytes: 0, errors: [], errorsTruncated: false };
  const splitter = o.format === 'csv' ? csvSplitter(o.maxRecordChars) : ndjsonSplitter(o.maxRecordChars);
  const decoder = new StringDecoder('utf8');
  let columns: Map<string, number> | undefined;
  let pending: { row: unknown; line: number; index: number }[] = [];

  const refuse = (index: number, line: number, id: string | undefined, pointer: string, detail: string) => {
    report.rejected++;
    if (report.errors.length < o.maxErrors) report.errors.push({ index, id, pointer, detail, line });
    else report.errorsTruncated = true;
  };
  const flush = async () => {
    if (pending.length === 0) return;
    const chunk = pending;
    pending = [];
    const { accepted, errors } = validateEvents(chunk.map((c) => c.row), o.tenant, o.window, '');
    for (const e of errors) refuse(chunk[e.index]!.index, chunk[e.index]!.line, e.id, e.pointer, e.detail);
    if (accepted.length === 0) return;
    try {
      await publish(accepted as readonly AnalyticsEvent[]);
    } catch (err) {
      throw Object.assign(analyticsError('ANALYTICS_INGEST_UNAVAILABLE', `Kafka did not take rows from line ${chunk[0]!.line} on; the ${report.accepted} rows before were accepted`, { accepted: report.accepted, rejected: report.rejected, failedFromLine: chunk[0]!.line }), { cause: err });
    }
    report.accepted += accepted.length;
  };
  const take = async (records: Iterable<Record_>) => {
    for (const rec of records) {
      if (o.format === 'csv' && columns === undefined) {
        const parsed = 'fields' in rec ? csvColumns(rec.fields) : 'the header row is too long';
        if (typeof parsed === 'string') throw analyticsError('ANALYTICS_UPLOAD_INVALID', `CSV header: ${parsed}`, { reason: parsed, errors: [] });
        columns = parsed;
        continue;
      }
      const index = report.rows++;
      if ('tooLong' in rec) refuse(index, rec.line, undefined, '', `the row is longer than ${o.maxRecordChars} characters`);
      else if ('fields' in rec) {
        const row = csvRowObject(rec.fields, columns!);
        if (typeof row === 'string') refuse(index, rec.line, rec.fields[columns!.get('id')!] || undefined, '', row);
        else pending.push({ row, line: rec.line, index });
      } else {
        try {
          pending.push({ row: JSON.parse(rec.text), line: rec.line, index });
        } catch {
          refuse(index, rec.line, undefined, '', 'the line is not JSON');
        }
      }
      if (pending.length >= o.chunkRows) await flush();
    }
  };

  for await (const buf of body) {
    report.bytes += buf.length;
    if (report.bytes > o.maxBytes) {
      throw analyticsError('ANALYTICS_UPLOAD_TOO_LARGE', `the upload passed ${o.maxBytes} bytes; ${report.accepted} rows were accepted before it (line ${report.rows} read last), the rest was not read`, {
        maxBytes: o.maxBytes, accepted: report.accepted, rejected: report.rejected,
      });
    }
    await take(splitter.push(decoder.write(buf)));
  }
  await take(splitter.push(decoder.end()));
  await take(splitter.end());
  if (o.format === 'csv' && columns === undefined) throw analyticsError('ANALYTICS_UPLOAD_INVALID', 'the CSV is empty (no header row)', { reason: 'empty', errors: [] });
  await flush();
  if (report.accepted === 0) throw analyticsError('ANALYTICS_UPLOAD_INVALID', `none of the ${report.rows} rows is valid`, { reason: 'no valid row', errors: report.errors, rejected: report.rejected });
  return report;
}
