/**
 * SQL of the audit log (schema from the pool's search_path): the head the
 * appender locks, entries, signed tree heads. Returns plain objects; hashes
 * and signatures as Buffers.
 */
import type { Queryable } from '@bulwark/db';
import type { Frontier } from '../domain/merkle.ts';

export interface LogHead {
  treeSize: number;
  chainHead: Buffer;
  frontier: Frontier;
}

export interface EntryRow {
  seq: number;
  eventId: string;
  eventType: string;
  eventClass: string;
  tenantId: string;
  actor: string | null;
  subject: string | null;
  occurredAt: Date;
  recordedAt: Date;
  /** Null once redacted after its class's retention (redactedAt set). */
  body: string | null;
  redactedAt: Date | null;
  leafHash: Buffer;
  chainHash: Buffer;
  rootHash: Buffer;
  keyId: string;
  signature: Buffer;
}

export interface TreeHeadRow {
  treeSize: number;
  signedAt: Date;
  rootHash: Buffer;
  chainHead: Buffer;
  keyId: string;
  signature: Buffer;
}

const ENTRY_COLUMNS = `seq::int8 AS "seq", event_id AS "eventId", event_type AS "eventType", event_class AS "eventClass", tenant_id AS "tenantId", actor, subject,
  occurred_at AS "occurredAt", recorded_at AS "recordedAt", body, redacted_at AS "redactedAt", leaf_hash AS "leafHash", chain_hash AS "chainHash", root_hash AS "rootHash", key_id AS "keyId", signature`;
const HEAD_COLUMNS = `tree_size AS "treeSize", signed_at AS "signedAt", root_hash AS "rootHash", chain_head AS "chainHead", key_id AS "keyId", signature`;

const toEntry = (r: EntryRow & { seq: number | string }): EntryRow => ({ ...r, seq: Number(r.seq) });
const toHead = (r: TreeHeadRow & { treeSize: number | string }): TreeHeadRow => ({ ...r, treeSize: Number(r.treeSize) });

/** Locks the head for this transaction: appends are serialised here. */
export async function lockHead(tx: Queryable): Promise<LogHead> {
  const { rows } = await tx.query<{ treeSize: string; chainHead: Buffer; frontier: (Buffer | null)[] }>({
    name: 'audit.head.lock',
    text: 'SELECT tree_size AS "treeSize", chain_head AS "chainHead", frontier FROM log_head FOR UPDATE',
  });
  const row = rows[0];
  if (!row) throw new Error('audit log_head row is missing');
  return { treeSize: Number(row.treeSize), chainHead: row.chainHead, frontier: row.frontier };
}

export async function saveHead(tx: Queryable, head: LogHead): Promise<void> {
  await tx.query({ name: 'audit.head.save', text: 'UPDATE log_head SET tree_size = $1, chain_head = $2, frontier = $3::bytea[]', values: [head.treeSize, head.chainHead, head.frontier] });
}

/** The event ids among `ids` the log holds already. */
export async function recordedEventIds(tx: Queryable, ids: readonly string[]): Promise<Set<string>> {
  const { rows } = await tx.query<{ eventId: string }>({ name: 'audit.entries.recorded', text: 'SELECT event_id AS "eventId" FROM entries WHERE event_id = ANY($1::text[])', values: [ids] });
  return new Set(rows.map((r) => r.eventId));
}

export async function insertEntries(tx: Queryable, entries: readonly EntryRow[]): Promise<void> {
  if (entries.length === 0) return;
  const col = <K extends keyof EntryRow>(k: K) => entries.map((e) => e[k]);
  await tx.query({
    name: 'audit.entries.insert',
    text: `INSERT INTO entries (seq, event_id, event_type, event_class, tenant_id, actor, subject, occurred_at, recorded_at, body, leaf_hash, chain_hash, root_hash, key_id, signature)
      SELECT * FROM unnest($1::int8[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::timestamptz[], $9::timestamptz[], $10::text[], $11::bytea[], $12::bytea[], $13::bytea[], $14::text[], $15::bytea[])`,
    values: [col('seq'), col('eventId'), col('eventType'), col('eventClass'), col('tenantId'), col('actor'), col('subject'), col('occurredAt'), col('recordedAt'), col('body'), col('leafHash'), col('chainHash'), col('rootHash'), col('keyId'), col('signature')],
  });
}

/** Leaf hashes of the first `size` entries, in order (proofs). */
export async function leafHashes(db: Queryable, size: number): Promise<Buffer[]> {
  const { rows } = await db.query<{ h: Buffer }>({ name: 'audit.entries.leaves', text: 'SELECT leaf_hash AS h FROM entries WHERE seq < $1 ORDER BY seq', values: [size] });
  return rows.map((r) => r.h);
}

export async function entryBySeq(db: Queryable, seq: number): Promise<EntryRow | undefined> {
  const { rows } = await db.query<EntryRow>({ name: 'audit.entries.by-seq', text: `SELECT ${ENTRY_COLUMNS} FROM entries WHERE seq = $1`, values: [seq] });
  return rows[0] && toEntry(rows[0]);
}

export interface EntryFilter {
  afterSeq: number;
  limit: number;
  eventClass?: string | undefined;
  eventType?: string | undefined;
  actor?: string | undefined;
}

export async function listEntries(db: Queryable, f: EntryFilter): Promise<EntryRow[]> {
  const { rows } = await db.query<EntryRow>({
    name: 'audit.entries.list',
    text: `SELECT ${ENTRY_COLUMNS} FROM entries
      WHERE seq > $1 AND ($2::text IS NULL OR event_class = $2) AND ($3::text IS NULL OR event_type = $3) AND ($4::text IS NULL OR actor = $4)
      ORDER BY seq LIMIT $5`,
    values: [f.afterSeq, f.eventClass ?? null, f.eventType ?? null, f.actor ?? null, f.limit],
  });
  return rows.map(toEntry);
}

/** Entries in log order from `afterSeq` (exclusive), a page at a time (the verifier). */
export async function entriesPage(db: Queryable, afterSeq: number, limit: number): Promise<EntryRow[]> {
  const { rows } = await db.query<EntryRow>({ name: 'audit.entries.page', text: `SELECT ${ENTRY_COLUMNS} FROM entries WHERE seq > $1 ORDER BY seq LIMIT $2`, values: [afterSeq, limit] });
  return rows.map(toEntry);
}

export async function latestTreeHead(db: Queryable): Promise<TreeHeadRow | undefined> {
  const { rows } = await db.query<TreeHeadRow>({ name: 'audit.sth.latest', text: `SELECT ${HEAD_COLUMNS} FROM tree_heads ORDER BY tree_size DESC LIMIT 1` });
  return rows[0] && toHead(rows[0]);
}

export async function treeHeadOfSize(db: Queryable, size: number): Promise<TreeHeadRow | undefined> {
  const { rows } = await db.query<TreeHeadRow>({ name: 'audit.sth.of-size', text: `SELECT ${HEAD_COLUMNS} FROM tree_heads WHERE tree_size = $1`, values: [size] });
  return rows[0] && toHead(rows[0]);
}

export async function allTreeHeads(db: Queryable): Promise<TreeHeadRow[]> {
  const { rows } = await db.query<TreeHeadRow>({ name: 'audit.sth.all', text: `SELECT ${HEAD_COLUMNS} FROM tree_heads ORDER BY tree_size` });
  return rows.map(toHead);
}

/** Records a signed tree head; false when one of that size exists already (another replica signed it). */
export async function insertTreeHead(db: Queryable, h: TreeHeadRow): Promise<boolean> {
  const { rowCount } = await db.query({
    name: 'audit.sth.insert',
    text: 'INSERT INTO tree_heads (tree_size, signed_at, root_hash, chain_head, key_id, signature) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tree_size) DO NOTHING',
    values: [h.treeSize, h.signedAt, h.rootHash, h.chainHead, h.keyId, h.signature],
  });
  return rowCount === 1;
}

/** The head without locking it (tree heads read it). */
export async function readHead(db: Queryable): Promise<LogHead> {
  const { rows } = await db.query<{ treeSize: string; chainHead: Buffer; frontier: (Buffer | null)[] }>({ name: 'audit.head.read', text: 'SELECT tree_size AS "treeSize", chain_head AS "chainHead", frontier FROM log_head' });
  const row = rows[0]!;
  return { treeSize: Number(row.treeSize), chainHead: row.chainHead, frontier: row.frontier };
}

/** Every entry recorded in [start, end), in log order (exports). */
export async function entriesRecordedBetween(db: Queryable, start: Date, end: Date): Promise<EntryRow[]> {
  const { rows } = await db.query<EntryRow>({ name: 'audit.entries.between', text: `SELECT ${ENTRY_COLUMNS} FROM entries WHERE recorded_at >= $1 AND recorded_at < $2 ORDER BY seq`, values: [start, end] });
  return rows.map(toEntry);
}

export async function isExported(db: Queryable, period: string): Promise<boolean> {
  const { rowCount } = await db.query({ name: 'audit.exports.exists', text: 'SELECT 1 FROM exports WHERE period = $1', values: [period] });
  return rowCount === 1;
}

export async function insertExport(db: Queryable, e: { period: string; objectKey: string; sha256: Buffer; entries: number; treeSize: number; lockedUntil: Date | null }): Promise<void> {
  await db.query({
    name: 'audit.exports.insert',
    text: 'INSERT INTO exports (period, object_key, sha256, entries, tree_size, locked_until) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (period) DO NOTHING',
    values: [e.period, e.objectKey, e.sha256, e.entries, e.treeSize, e.lockedUntil],
  });
}
