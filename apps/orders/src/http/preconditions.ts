/**
 * Expected stream version of a command: `If-Match: "<version>"` (the ETag
 * the API hands out is the stream version) or `expectedVersion` in the body.
 */
import { ordersError } from '../errors.ts';

export function etagOf(version: number): string {
  return `"${version}"`;
}

export function expectedVersionOf(ifMatch: string | undefined, bodyVersion: number | undefined): number | undefined {
  let fromHeader: number | undefined;
  if (ifMatch !== undefined && ifMatch.trim() !== '*') {
    const m = /^\s*(?:W\/)?"?(\d{1,9})"?\s*$/.exec(ifMatch);
    if (!m) throw ordersError('ORDERS_INVALID_PRECONDITION', `If-Match ${JSON.stringify(ifMatch)} is not a version ETag such as "3"`);
    fromHeader = Number(m[1]);
  }
  if (fromHeader !== undefined && bodyVersion !== undefined && fromHeader !== bodyVersion) {
    throw ordersError('ORDERS_INVALID_PRECONDITION', `If-Match ${fromHeader} disagrees with expectedVersion ${bodyVersion}`);
  }
  return fromHeader ?? bodyVersion;
}
