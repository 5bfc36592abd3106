/**
 * Expected stream version of a command: `If-Match: "<version>"` (the ETag
 * the API hands out is the stream version) or `expectedVersion` in the body.
 */
import type { HeaderParameter } from '@bulwark/service-kit';
import { ordersError } from '../errors.ts';

/** The If-Match header of commands, as /openapi.json documents it. */
export const IF_MATCH_HEADER: HeaderParameter = { name: 'If-Match', description: 'Stream version the command is based on, as the ETag handed out ("3"); or send expectedVersion in the body.', schema: { type: 'string' } };

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
