/**
 * REST routes of documents. The caller is the principal the gateway
 * verified (x-auth-sub, x-auth-roles; the tenant through the kit's gateway
 * tenant scope), like catalog and orders; the WebSocket endpoint verifies
 * the token itself (ws/server.ts).
 */
import type { Request, RequestHandler } from 'express';
import type { DbPool } from '@bulwark/db';
import type { RouteRegistrar } from '@bulwark/service-kit';
import { changeAccess, createDocument, listReadable, readDocument, type Caller } from '../domain/documents.ts';
import { collabError } from '../errors.ts';
import { AccessBody, ContentQuery, CreateDocumentBody, Document, DocumentContentResponse, DocumentList, DocumentParams, ListQuery } from './schemas.ts';

const USER_HEADERS = [
  { name: 'x-auth-sub', description: 'The verified subject (set by the gateway).', required: true },
  { name: 'x-auth-tenant', description: 'The verified tenant (set by the gateway).', required: true },
  { name: 'x-auth-roles', description: 'Comma-separated verified roles (set by the gateway).' },
] as const;

const requireUser: RequestHandler = (req, _res, next) => {
  if (!req.get('x-auth-sub') || !req.get('x-auth-tenant')) return next(collabError('COLLAB_LOGIN_REQUIRED', 'documents need a verified user of a tenant'));
  next();
};

const callerOf = (req: Request): Caller => ({
  sub: req.get('x-auth-sub')!,
  roles: (req.get('x-auth-roles') ?? '')
    .split(',')
    .map((r) => r.trim())
    .filter(Boolean),
});

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
const encodeCursor = (d: { createdAt: string; id: string }) => Buffer.from(`${d.createdAt}|${d.id}`).toString('base64url');
function decodeCursor(cursor: string | undefined): { createdAt: string; id: string } | undefined {
  if (cursor === undefined) return undefined;
  const [createdAt, id] = Buffer.from(cursor, 'base64url').toString().split('|');
  if (!createdAt || !id || Number.isNaN(Date.parse(createdAt)) || !/^[0-9a-f-]{36}$/.test(id)) throw collabError('COLLAB_CURSOR_INVALID', 'the cursor names no page');
  return { createdAt, id };
}

export function registerRoutes(r: RouteRegistrar, deps: { pool: DbPool }): void {
  const { pool } = deps;
  const user = { headers: USER_HEADERS, middleware: [requireUser], tags: ['documents'] };

  r.post('/v1/documents', {
    ...user,
    summary: 'Create a document (optionally with initial text) with the roles that may read and write it',
    errors: ['COLLAB_LOGIN_REQUIRED'],
    body: CreateDocumentBody,
    responses: { 201: Document },
    handler: async ({ req, body }) => ({ status: 201, body: await createDocument(pool, callerOf(req), body) }),
  });

  r.get('/v1/documents', {
    ...user,
    summary: 'The documents the caller may read, newest first, with a cursor',
    errors: ['COLLAB_LOGIN_REQUIRED', 'COLLAB_CURSOR_INVALID'],
    query: ListQuery,
    responses: { 200: DocumentList },
    handler: async ({ req, query }) => {
      const documents = await listReadable(pool, callerOf(req), query.limit, decodeCursor(query.cursor));
      const last = documents.length === query.limit ? documents[documents.length - 1] : undefined;
      return { status: 200, body: { documents, nextCursor: last ? encodeCursor(last) : null } };
    },
  });

  r.get('/v1/documents/:id', {
    ...user,
    summary: "A document's current text, formatting and state vector (snapshot plus update log: every stored update, whichever instance took it)",
    errors: ['COLLAB_LOGIN_REQUIRED', 'COLLAB_DOCUMENT_NOT_FOUND', 'COLLAB_ACCESS_DENIED'],
    params: DocumentParams,
    query: ContentQuery,
    responses: { 200: DocumentContentResponse },
    handler: async ({ req, params, query }) => {
      const { document, content } = await readDocument(pool, callerOf(req), params.id);
      return {
        status: 200,
        body: { document, text: content.text, delta: content.delta, stateVector: b64(content.stateVector), ...(query.include === 'state' ? { state: b64(content.state) } : {}), websocket: `/v1/collab/${document.id}` },
      };
    },
  });

  r.put('/v1/documents/:id/access', {
    ...user,
    summary: 'Set the roles that may read and write a document (its creator or an admin); open connections keep their access until they reconnect',
    errors: ['COLLAB_LOGIN_REQUIRED', 'COLLAB_DOCUMENT_NOT_FOUND', 'COLLAB_ACCESS_DENIED'],
    params: DocumentParams,
    body: AccessBody,
    responses: { 200: Document },
    handler: async ({ req, params, body }) => ({ status: 200, body: await changeAccess(pool, callerOf(req), params.id, body) }),
  });
}
