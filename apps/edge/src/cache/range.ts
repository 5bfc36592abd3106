/**
 * Range requests (RFC 9110 §14) answered from a cached full object: one
 * `bytes=` range gets 206 with Content-Range; a range past the end gets 416;
 * several ranges, a malformed header or a failed If-Range get the whole
 * object (200), which the RFC allows.
 */

export type RangeAnswer = { kind: 'full' } | { kind: 'partial'; start: number; end: number } | { kind: 'unsatisfiable' };

/** What to send for `range` (the Range header) against an object of `size` bytes whose validator is `etag`. */
export function selectRange(range: string | undefined, size: number, ifRange?: string, etag?: string): RangeAnswer {
  if (range === undefined) return { kind: 'full' };
  // If-Range with an entity tag: a partial answer only while the client's copy is this one (strong comparison).
  if (ifRange !== undefined && (etag === undefined || ifRange.startsWith('W/') || ifRange !== etag)) return { kind: 'full' };
  const m = /^bytes=\s*(\d*)\s*-\s*(\d*)\s*$/.exec(range);
  if (!m) return { kind: 'full' };
  const [, first = '', last = ''] = m;
  if (first === '' && last === '') return { kind: 'full' };
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0) return { kind: 'unsatisfiable' };
    return size === 0 ? { kind: 'unsatisfiable' } : { kind: 'partial', start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  if (start >= size) return { kind: 'unsatisfiable' };
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (end < start) return { kind: 'full' };
  return { kind: 'partial', start, end };
}
