/**
 * The REST use cases: create a document (optionally with initial text,
 * stored as the log's first update), list the caller's readable documents,
 * read a document's current text and state (snapshot + log, so any instance
 * answers the same), and change who may read and write it.
 */
import { randomUUID } from 'node:crypto';
import * as Y from 'yjs';
import { withTransaction, type DbPool } from '@bulwark/db';
import { collabError } from '../errors.ts';
import { appendUpdates, findDocument, insertDocument, listDocuments, readState, updateAccess, type DocumentRow } from '../store/document-store.ts';
import { ADMIN_ROLE, canManage, canRead, canWrite } from './access.ts';
import { CONTENT, contentOf, type DocumentContent } from './ystate.ts';

export interface Caller {
  sub: string;
  roles: readonly string[];
}

export interface DocumentView extends DocumentRow {
  canWrite: boolean;
}

const view = (doc: DocumentRow, caller: Caller): DocumentView => ({ ...doc, canWrite: canWrite(doc, caller.roles) });

export async function createDocument(pool: DbPool, caller: Caller, input: { title: string; text?: string | undefined; readRoles: string[]; writeRoles: string[] }): Promise<DocumentView> {
  return withTransaction(pool, async (tx) => {
    const doc = await insertDocument(tx, { id: randomUUID(), title: input.title, createdBy: caller.sub, readRoles: input.readRoles, writeRoles: input.writeRoles });
    if (input.text) {
      const ydoc = new Y.Doc();
      ydoc.getText(CONTENT).insert(0, input.text);
      await appendUpdates(tx, doc.id, [Y.encodeStateAsUpdate(ydoc)]);
      ydoc.destroy();
    }
    return view(doc, caller);
  });
}

export async function listReadable(pool: DbPool, caller: Caller, limit: number, before?: { createdAt: string; id: string }): Promise<DocumentView[]> {
  const rows = await listDocuments(pool, { limit, before, roles: [...caller.roles], all: caller.roles.includes(ADMIN_ROLE) });
  return rows.map((d) => view(d, caller));
}

async function readable(pool: DbPool, caller: Caller, id: string): Promise<DocumentRow> {
  const doc = await findDocument(pool, id);
  if (!doc) throw collabError('COLLAB_DOCUMENT_NOT_FOUND', `no document ${id}`);
  if (!canRead(doc, caller.roles)) throw collabError('COLLAB_ACCESS_DENIED', 'your roles may not read this document');
  return doc;
}

export async function readDocument(pool: DbPool, caller: Caller, id: string): Promise<{ document: DocumentView; content: DocumentContent }> {
  const doc = await readable(pool, caller, id);
  const state = await readState(pool, id);
  return { document: view(doc, caller), content: contentOf(state.snapshot && state.snapshot.length > 0 ? state.snapshot : undefined, state.updates.map((u) => u.update)) };
}

export async function changeAccess(pool: DbPool, caller: Caller, id: string, access: { readRoles: string[]; writeRoles: string[] }): Promise<DocumentView> {
  const doc = await readable(pool, caller, id);
  if (!canManage(doc, caller.sub, caller.roles)) throw collabError('COLLAB_ACCESS_DENIED', 'only the creator or an admin changes access');
  const updated = await updateAccess(pool, id, access.readRoles, access.writeRoles);
  if (!updated) throw collabError('COLLAB_DOCUMENT_NOT_FOUND', `no document ${id}`);
  return view(updated, caller);
}
