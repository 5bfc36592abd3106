/**
 * One audit entry as hashed and signed: its canonical JSON (sorted keys, no
 * spaces; the exact bytes of the Merkle leaf), the hash chain
 * (chain[i] = SHA-256(chain[i-1] || leaf[i]), chain[-1] = 32 zero bytes), and
 * the texts the log key signs: an entry timestamp per entry (like RFC 9162's
 * SCT: the log's promise, naming the entry's position, class, time, leaf and
 * chain hashes, so a rewrite by someone without the key fails at the first
 * entry it touches) and a tree head per period (size, time, Merkle root,
 * chain head). Pure functions.
 */
import { createHash } from 'node:crypto';
import { HASH_BYTES } from './merkle.ts';

export const GENESIS_CHAIN = Buffer.alloc(HASH_BYTES);

/** What the log records of one security-relevant event. */
export interface AuditEntryBody {
  seq: number;
  eventId: string;
  type: string;
  eventClass: string;
  source: string;
  subject: string | null;
  tenant: string | null;
  actor: string | null;
  occurredAt: string;
  recordedAt: string;
  data: unknown;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** JSON with object keys sorted at every level (RFC 8785 for the values the log holds: no floats beyond JSON.stringify's). */
export function canonicalJson(value: unknown): string {
  const normalise = (v: unknown): Json => {
    if (v === null || typeof v === 'boolean' || typeof v === 'string') return v;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw new TypeError('audit entries hold finite numbers only');
      return v;
    }
    if (Array.isArray(v)) return v.map((x) => (x === undefined ? null : normalise(x)));
    if (v instanceof Date) return v.toISOString();
    if (typeof v === 'object') {
      const out: Record<string, Json> = {};
      for (const key of Object.keys(v).sort()) {
        const x = (v as Record<string, unknown>)[key];
        if (x !== undefined) out[key] = normalise(x);
      }
      return out;
    }
    throw new TypeError(`cannot record a ${typeof v} in an audit entry`);
  };
  return JSON.stringify(normalise(value));
}

export function entryBytes(body: AuditEntryBody): Buffer {
  return Buffer.from(canonicalJson(body), 'utf8');
}

export function chainHash(previous: Uint8Array, leaf: Uint8Array): Buffer {
  return createHash('sha256').update(previous).update(leaf).digest();
}

/** The text an entry timestamp signs. */
export function entryTimestampText(e: { seq: number; recordedAt: string; eventClass: string; leafHash: Uint8Array; chainHash: Uint8Array }): Buffer {
  return Buffer.from(['bulwark-audit-entry:v1', e.seq, e.recordedAt, e.eventClass, Buffer.from(e.leafHash).toString('hex'), Buffer.from(e.chainHash).toString('hex')].join('\n'), 'utf8');
}

/** The text a signed tree head signs. */
export function treeHeadText(h: { treeSize: number; timestamp: string; rootHash: Uint8Array; chainHead: Uint8Array }): Buffer {
  return Buffer.from(['bulwark-audit-sth:v1', h.treeSize, h.timestamp, Buffer.from(h.rootHash).toString('hex'), Buffer.from(h.chainHead).toString('hex')].join('\n'), 'utf8');
}
