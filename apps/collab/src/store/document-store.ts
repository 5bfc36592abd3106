/**
 * SQL of documents: metadata and access, the append-only update log and the
 * snapshot. Every function runs under the caller's tenant context (RLS);
 * bytes in and out are plain Uint8Arrays.
 */
import { withTransaction, type DbPool, type Queryable } from '@bulwark/db';

export interface DocumentRow {
  id: string;
  title: string;
  createdBy: string;
  readRoles: string[];
  writeRoles: string[];
  createdAt: string;
  updatedAt: string;
}

interface RawDocument {
  id: string;
  title: string;
  created_by: string;
  read_roles: string[];
  write_roles: string[];
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = 'id, title, created_by, read_roles, write_roles, created_at, updated_at';

function toDocument(r: RawDocument): DocumentRow {
  return { id: r.id, title: r.title, createdBy: r.created_by, readRoles: r.read_roles, writeRoles: r.write_roles, createdAt: r.created_at.toISOString(), updatedAt: r.updated_at.toISOString() };
}

export async function insertDocument(db: Queryable, doc: { id: string; title: string; createdBy: string; readRoles: string[]; writeRoles: string[] }): Promise<DocumentRow> {
  const { rows } = await db.query<RawDocument>(
    `INSERT INTO documents (id, title, created_by, read_roles, write_roles) VALUES ($1, $2, $3, $4, $5) RETURNING ${COLUMNS}`,
    [doc.id, doc.title, doc.createdBy, doc.readRoles, doc.writeRoles],
  );
  return toDocument(rows[0]!);
}

export async function findDocument(db: Queryable, id: string): Promise<DocumentRow | undefined> {
  const { rows } = await db.query<RawDocument>(`SELECT ${COLUMNS} FROM documents WHERE id = $1`, [id]);
  return rows[0] ? toDocument(rows[0]) : undefined;
}

/**
 * Newest first, only those `roles` may read (every one with `all`); `before`
 * is the (createdAt, id) of the last row of the previous page.
 */
export async function listDocuments(db: Queryable, options: { limit: number; before?: { createdAt: string; id: string } | undefined; roles: string[]; all: boolean }): Promise<DocumentRow[]> {
  const { rows } = await db.query<RawDocument>(
    `SELECT ${COLUMNS} FROM documents
      WHERE ($1 OR read_roles = '{}' OR write_roles = '{}' OR read_roles && $2::text[] OR write_roles && $2::text[])
        AND ($3::timestamptz IS NULL OR (created_at, id) < ($3::timestamptz, $4::uuid))
      ORDER BY created_at DESC, id DESC LIMIT $5`,
    [options.all, options.roles, options.before?.createdAt ?? null, options.before?.id ?? null, options.limit],
  );
  return rows.map(toDocument);
}

export async function updateAccess(db: Queryable, id: string, readRoles: string[], writeRoles: string[]): Promise<DocumentRow | undefined> {
  const { rows } = await db.query<RawDocument>(`UPDATE documents SET read_roles = $2, write_roles = $3, updated_at = now() WHERE id = $1 RETURNING ${COLUMNS}`, [id, readRoles, writeRoles]);
  return rows[0] ? toDocument(rows[0]) : undefined;
}

/** Appends updates to the log in one statement (one round trip for a batch); resolves once committed. */
export async function appendUpdates(db: Queryable, documentId: string, updates: readonly Uint8Array[]): Promise<void> {
  await db.query(`INSERT INTO document_updates (document_id, update) SELECT $1, u FROM unnest($2::bytea[]) WITH ORDINALITY AS t(u, n) ORDER BY n`, [documentId, updates.map((u) => Buffer.from(u.buffer, u.byteOffset, u.byteLength))]);
}

export interface StoredState {
  snapshot: Uint8Array | undefined;
  updates: { seq: string; update: Uint8Array }[];
}

/** The snapshot and every update still in the log (all of them: an update that committed late may have a lower seq than a merged one). */
export async function readState(db: Queryable, documentId: string): Promise<StoredState> {
  const snap = await db.query<{ state: Buffer }>(`SELECT state FROM document_snapshots WHERE document_id = $1`, [documentId]);
  const log = await db.query<{ seq: string; update: Buffer }>(`SELECT seq, update FROM document_updates WHERE document_id = $1 ORDER BY seq`, [documentId]);
  return { snapshot: snap.rows[0]?.state, updates: log.rows.map((r) => ({ seq: r.seq, update: r.update })) };
}

export async function countUpdates(db: Queryable, documentId: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM document_updates WHERE document_id = $1`, [documentId]);
  return rows[0]!.n;
}

/**
 * Compaction in one transaction: the snapshot row is locked (two compactors
 * take turns), the snapshot and the updates read are merged by `merge`, the
 * merged state replaces the snapshot and exactly the updates read are deleted
 * (by seq). An update committed meanwhile is not among them and stays in the
 * log. Returns how many updates were merged.
 */
export async function compact(pool: DbPool, documentId: string, merge: (snapshot: Uint8Array | undefined, updates: Uint8Array[]) => Uint8Array): Promise<number> {
  return withTransaction(pool, async (tx) => {
    await tx.query(`INSERT INTO document_snapshots (document_id, state) VALUES ($1, '\\x') ON CONFLICT DO NOTHING`, [documentId]);
    const snap = await tx.query<{ state: Buffer }>(`SELECT state FROM document_snapshots WHERE document_id = $1 FOR UPDATE`, [documentId]);
    const log = await tx.query<{ seq: string; update: Buffer }>(`SELECT seq, update FROM document_updates WHERE document_id = $1 ORDER BY seq`, [documentId]);
    if (log.rows.length === 0) return 0;
    const current = snap.rows[0]!.state;
    const merged = merge(current.length > 0 ? current : undefined, log.rows.map((r) => r.update));
    await tx.query(`UPDATE document_snapshots SET state = $2, merged_updates = merged_updates + $3, compacted_at = now() WHERE document_id = $1`, [documentId, Buffer.from(merged), log.rows.length]);
    await tx.query(`DELETE FROM document_updates WHERE document_id = $1 AND seq = ANY($2::bigint[])`, [documentId, log.rows.map((r) => r.seq)]);
    await tx.query(`UPDATE documents SET updated_at = now() WHERE id = $1`, [documentId]);
    return log.rows.length;
  });
}
