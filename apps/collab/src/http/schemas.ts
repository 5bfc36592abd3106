/** zod schemas of the REST routes (validation and /openapi.json from the same declarations). */
import { z } from 'zod';

const Role = z.string().regex(/^[\x21-\x2b\x2d-\x7e]{1,64}$/).describe('A role name as identity puts it in tokens (no commas).');
const Roles = z.array(Role).max(32);

export const DocumentParams = z.object({ id: z.uuid().describe('The document id.') });

export const CreateDocumentBody = z.object({
  title: z.string().trim().min(1).max(200),
  text: z.string().max(100_000).optional().describe('Initial content of the `content` Y.Text.'),
  readRoles: Roles.default([]).describe('Roles that may read; empty: every user of the tenant.'),
  writeRoles: Roles.default([]).describe('Roles that may write (and read); empty: every user of the tenant.'),
});

export const AccessBody = z.object({ readRoles: Roles, writeRoles: Roles });

export const ListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(200).optional().describe('`nextCursor` of the previous page.'),
});

export const Document = z.object({
  id: z.uuid(),
  title: z.string(),
  createdBy: z.string(),
  readRoles: z.array(z.string()),
  writeRoles: z.array(z.string()),
  createdAt: z.string(),
  updatedAt: z.string(),
  canWrite: z.boolean().describe('Whether the caller may edit it.'),
});

export const DocumentList = z.object({ documents: z.array(Document), nextCursor: z.string().nullable() });

export const DocumentContentResponse = z.object({
  document: Document,
  text: z.string().describe('The `content` Y.Text as plain text.'),
  delta: z.array(z.object({ insert: z.unknown(), attributes: z.record(z.string(), z.unknown()).optional() })).describe('The `content` Y.Text as a Quill-style delta (formatting attributes).'),
  stateVector: z.string().describe('Encoded Yjs state vector, base64.'),
  state: z.string().optional().describe('The whole state as one Yjs update, base64 (with `?include=state`).'),
  websocket: z.string().describe('Path of the y-websocket endpoint of this document.'),
});

export const ContentQuery = z.object({ include: z.enum(['state']).optional() });
