/**
 * The edge check of request input, run on params, query and body before any
 * schema or handler sees them. It refuses what no route can store or pass on
 * faithfully, so that services need not guard every sink:
 *
 * - U+0000 (NUL) in a string or object key: PostgreSQL refuses it in `text`
 *   ("invalid byte sequence … 0x00") and in `jsonb` ("unsupported Unicode
 *   escape sequence"), Kafka and Redis pass it on to consumers that may not.
 * - an unpaired UTF-16 surrogate (`\ud800`): `jsonb` refuses it, and `text`
 *   silently stores U+FFFD instead.
 * - nesting deeper than `maxDepth` arrays/objects: JSON.parse copes, but
 *   recursive code after it (zod's `z.json()`, canonical JSON for idempotency
 *   fingerprints, node-postgres and jsonb) overflows the stack.
 *
 * The walk is iterative (a stack of containers, no recursion) and stops at
 * the first container past `maxDepth`, so its cost is bounded by the body
 * limit and its stack by the depth limit.
 */
import type { AppError } from '@bulwark/errors';
import { kitError } from './errors.ts';

/** One refused string: where it is (dotted path, as in validation issues) and why. */
export interface UnsafeString {
  path: string;
  message: string;
}

export type InputFinding = { tooDeep: true; maxDepth: number } | { tooDeep: false; strings: UnsafeString[] };

/** The default of BODY_MAX_DEPTH: deeper than any contract of the platform needs. */
export const DEFAULT_MAX_DEPTH = 64;

/** At most this many refused strings are reported per request part. */
const MAX_REPORTED = 20;

interface Frame {
  value: object;
  key: string | number | undefined;
  parent: Frame | undefined;
}

/** Why a string cannot be taken, or undefined if it can. */
export function unsafeStringReason(s: string): string | undefined {
  if (s.includes('\u0000')) return 'must not contain U+0000 (NUL)';
  if (!s.isWellFormed()) return 'must not contain an unpaired UTF-16 surrogate';
  return undefined;
}

function pathOf(frame: Frame | undefined, last: string | number | undefined): string {
  const keys: (string | number)[] = last === undefined ? [] : [last];
  for (let f = frame; f !== undefined && f.key !== undefined; f = f.parent) keys.push(f.key);
  return keys.reverse().map(String).join('.');
}

function isSafeString(s: string): boolean {
  return s.indexOf('\u0000') === -1 && s.isWellFormed();
}

/**
 * Inspects parsed input (JSON, query or params). Returns undefined when it is
 * safe; `{ tooDeep }` as soon as a container lies deeper than `maxDepth` (the
 * top-level object or array is depth 1); else the refused strings (values and
 * keys, at most 20). Every validated request pays for this walk, so the pass
 * that decides allocates nothing but its two stacks; paths are only built, in
 * a second walk, for input that is refused.
 */
export function inspectInput(root: unknown, maxDepth: number): InputFinding | undefined {
  if (typeof root === 'string') {
    const reason = unsafeStringReason(root);
    return reason === undefined ? undefined : { tooDeep: false, strings: [{ path: '', message: reason }] };
  }
  if (typeof root !== 'object' || root === null) return undefined;
  if (maxDepth < 1) return { tooDeep: true, maxDepth };
  let unsafe = false;
  const containers: object[] = [root];
  const depths: number[] = [1];
  while (containers.length > 0) {
    const container = containers.pop()!;
    const childDepth = depths.pop()! + 1;
    if (Array.isArray(container)) {
      for (let i = 0; i < container.length; i++) {
        const item: unknown = container[i];
        if (typeof item === 'string') {
          if (!isSafeString(item)) unsafe = true;
        } else if (typeof item === 'object' && item !== null) {
          if (childDepth > maxDepth) return { tooDeep: true, maxDepth };
          containers.push(item);
          depths.push(childDepth);
        }
      }
    } else {
      const record = container as Record<string, unknown>;
      // for-in: own keys of JSON.parse objects, Express params and (null-prototype) query objects, with no key array per object.
      for (const key in record) {
        if (!isSafeString(key)) unsafe = true;
        const item = record[key];
        if (typeof item === 'string') {
          if (!isSafeString(item)) unsafe = true;
        } else if (typeof item === 'object' && item !== null) {
          if (childDepth > maxDepth) return { tooDeep: true, maxDepth };
          containers.push(item);
          depths.push(childDepth);
        }
      }
    }
  }
  return unsafe ? { tooDeep: false, strings: collectUnsafeStrings(root) } : undefined;
}

/** The refused strings of input already known to be within the depth limit, with their paths (at most 20). */
function collectUnsafeStrings(root: object): UnsafeString[] {
  const strings: UnsafeString[] = [];
  const report = (frame: Frame, key: string | number, message: string): void => {
    if (strings.length < MAX_REPORTED) strings.push({ path: pathOf(frame, key), message });
  };
  const stack: Frame[] = [{ value: root, key: undefined, parent: undefined }];
  while (stack.length > 0 && strings.length < MAX_REPORTED) {
    const frame = stack.pop()!;
    const container = frame.value;
    if (Array.isArray(container)) {
      for (let i = 0; i < container.length; i++) {
        const item: unknown = container[i];
        if (typeof item === 'string') {
          const reason = unsafeStringReason(item);
          if (reason !== undefined) report(frame, i, reason);
        } else if (typeof item === 'object' && item !== null) {
          stack.push({ value: item, key: i, parent: frame });
        }
      }
    } else {
      const record = container as Record<string, unknown>;
      for (const key in record) {
        const keyReason = unsafeStringReason(key);
        if (keyReason !== undefined) report(frame, key, `key ${keyReason}`);
        const item = record[key];
        if (typeof item === 'string') {
          const reason = unsafeStringReason(item);
          if (reason !== undefined) report(frame, key, reason);
        } else if (typeof item === 'object' && item !== null) {
          stack.push({ value: item, key, parent: frame });
        }
      }
    }
  }
  return strings;
}

/** 400 JSON_TOO_DEEP for one part of the request. */
export function tooDeepError(where: 'params' | 'query' | 'body', maxDepth: number): AppError {
  return kitError('JSON_TOO_DEEP', `The ${where} nests arrays or objects deeper than ${maxDepth} levels.`, { extensions: { in: where, maxDepth } });
}

/**
 * The edge check for input a handler parses itself (a signed webhook, read
 * and verified over its raw bytes, so the kit never parsed it): call it on
 * the parsed JSON before using any of it. Throws what a declared body would
 * get: 400 JSON_TOO_DEEP, or 400 REQUEST_VALIDATION_FAILED with an issue per
 * refused string.
 */
export function assertSafeInput(value: unknown, where: 'params' | 'query' | 'body' = 'body', maxDepth = DEFAULT_MAX_DEPTH): void {
  const finding = inspectInput(value, maxDepth);
  if (finding === undefined) return;
  if (finding.tooDeep) throw tooDeepError(where, maxDepth);
  const issues = finding.strings.map((s) => ({ in: where, path: s.path, message: s.message }));
  throw kitError('REQUEST_VALIDATION_FAILED', `The request has ${issues.length} invalid field${issues.length === 1 ? '' : 's'}.`, { extensions: { issues } });
}
