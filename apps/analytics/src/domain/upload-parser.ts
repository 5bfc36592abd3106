/**
 * Record splitters for uploads (pure, streaming): text goes in chunk by chunk,
 * whole records come out with the line they start on; nothing but the record
 * being read is held. CSV is RFC 4180 (quoted fields may hold commas, quotes
 * as "" and line breaks; CRLF or LF). NDJSON is one JSON value per line. A
 * record longer than `maxRecordChars` is reported as too long and skipped
 * to its end, so one runaway line cannot fill memory.
 */
export type Record_ = { line: number; fields: string[] } | { line: number; text: string } | { line: number; tooLong: true };

export interface RecordSplitter {
  push(chunk: string): Iterable<Record_>;
  end(): Iterable<Record_>;
}

/** NDJSON: each non-blank line is a record (`text`). */
export function ndjsonSplitter(maxRecordChars: number): RecordSplitter {
  let buf = '';
  let line = 1;
  let skipping = false;
  function* emit(text: string, at: number): Iterable<Record_> {
    if (skipping) {
      skipping = false;
      yield { line: at, tooLong: true };
    } else if (text.trim() !== '') yield { line: at, text };
  }
  return {
    *push(chunk) {
      let start = 0;
      for (let nl = chunk.indexOf('\n'); nl >= 0; nl = chunk.indexOf('\n', start)) {
        const text = skipping ? '' : buf + chunk.slice(start, nl);
        buf = '';
        if (!skipping && text.length > maxRecordChars) skipping = true;
        yield* emit(text, line++);
        start = nl + 1;
      }
      if (!skipping) buf += chunk.slice(start);
      if (buf.length > maxRecordChars) {
        skipping = true;
        buf = '';
      }
    },
    *end() {
      yield* emit(buf, line);
      buf = '';
    },
  };
}

/** CSV: each record as its fields; blank lines are skipped. */
export function csvSplitter(maxRecordChars: number): RecordSplitter {
  let fields: string[] = [];
  let field = '';
  let quoted = false; // inside a quoted field
  let quoteSeen = false; // the previous char closed a quote (or starts "")
  let size = 0;
  let line = 1;
  let recordLine = 1;
  let skipping = false;
  let pendingCr = false;
  const reset = () => {
    fields = [];
    field = '';
    size = 0;
    quoted = false;
    quoteSeen = false;
  };
  function* finish(): Iterable<Record_> {
    if (skipping) {
      skipping = false;
      yield { line: recordLine, tooLong: true };
    } else {
      fields.push(field);
      if (!(fields.length === 1 && fields[0] === '')) yield { line: recordLine, fields };
    }
    reset();
  }
  return {
    *push(chunk) {
      for (const ch of chunk) {
        if (pendingCr) {
          pendingCr = false;
          if (ch === '\n') continue;
        }
        if (quoted) {
          if (ch === '"') {
            quoted = false;
            quoteSeen = true;
          } else {
            if (ch === '\n') line++;
            if (!skipping) field += ch;
          }
        } else if (ch === '"') {
          if (quoteSeen) field += '"'; // "" inside a quoted field
          quoted = true;
          quoteSeen = false;
        } else if (ch === ',') {
          quoteSeen = false;
          if (!skipping) fields.push(field);
          field = '';
        } else if (ch === '\n' || ch === '\r') {
          if (ch === '\r') pendingCr = true;
          quoteSeen = false;
          yield* finish();
          line++;
          recordLine = line;
          continue;
        } else {
          quoteSeen = false;
          if (!skipping) field += ch;
        }
        if (!skipping && ++size > maxRecordChars) {
          skipping = true;
          fields = [];
          field = '';
        }
      }
    },
    *end() {
      if (size > 0 || fields.length > 0 || field !== '' || skipping) yield* finish();
    },
  };
}
