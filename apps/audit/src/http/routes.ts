/**
 * The audit log's read API (admin or auditor role, from the gateway's
 * verified x-auth-* headers; a tenant reads its own entries, row-level
 * security): entries, the latest signed tree head, inclusion and consistency
 * proofs (RFC 9162), and the log's public key. Hashes and signatures are
 * base64, like RFC 9162's JSON API.
 */
import type { RequestHandler } from 'express';
import { z } from 'zod';
import type { DbPool } from '@bulwark/db';
import type { RouteRegistrar } from '@bulwark/service-kit';
import { proveConsistency, proveInclusion } from '../domain/proofs.ts';
import { auditError } from '../errors.ts';
import { entryBySeq, latestTreeHead, listEntries, type EntryRow, type TreeHeadRow } from '../store/log-store.ts';

export interface AuditRouteDeps {
  pool: DbPool;
  readerRoles: readonly string[];
  publicKeyPem: string;
  keyId: string;
}

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
const Base64 = z.string().describe('base64');

const Entry = z.object({
  seq: z.number().int().describe('Position in the log: the Merkle leaf index.'),
  eventId: z.string(),
  eventType: z.string(),
  eventClass: z.string(),
  tenant: z.string(),
  actor: z.string().nullable(),
  subject: z.string().nullable(),
  occurredAt: z.string(),
  recordedAt: z.string(),
  body: z.string().nullable().describe('Canonical JSON of the entry: the exact bytes of its Merkle leaf (leaf hash = SHA-256(0x00 || body)); null once redacted after its class\'s retention.'),
  redactedAt: z.string().nullable(),
  leafHash: Base64,
  chainHash: Base64,
  keyId: z.string(),
  signature: Base64.describe('Ed25519 entry timestamp (see docs/DECISIONS.md, "Audit log").'),
});
const TreeHead = z.object({
  treeSize: z.number().int(),
  timestamp: z.string(),
  rootHash: Base64,
  chainHead: Base64,
  keyId: z.string(),
  signature: Base64.describe('Ed25519 over "bulwark-audit-sth:v1\\n<size>\\n<timestamp>\\n<root hex>\\n<chain head hex>".'),
});

const entryJson = (e: EntryRow): z.output<typeof Entry> => ({
  seq: e.seq,
  eventId: e.eventId,
  eventType: e.eventType,
  eventClass: e.eventClass,
  tenant: e.tenantId,
  actor: e.actor,
  subject: e.subject,
  occurredAt: e.occurredAt.toISOString(),
  recordedAt: e.recordedAt.toISOString(),
  body: e.body,
  redactedAt: e.redactedAt?.toISOString() ?? null,
  leafHash: b64(e.leafHash),
  chainHash: b64(e.chainHash),
  keyId: e.keyId,
  signature: b64(e.signature),
});
const headJson = (h: TreeHeadRow): z.output<typeof TreeHead> => ({ treeSize: h.treeSize, timestamp: h.signedAt.toISOString(), rootHash: b64(h.rootHash), chainHead: b64(h.chainHead), keyId: h.keyId, signature: b64(h.signature) });

const READER_HEADERS = [
  { name: 'x-auth-sub', description: 'The verified subject (set by the gateway).', required: true },
  { name: 'x-auth-roles', description: 'Comma-separated verified roles (set by the gateway); must include auditor or admin.', required: true },
  { name: 'x-auth-tenant', description: 'The verified tenant (set by the gateway): entries of this tenant only.', required: true },
] as const;

const Seq = z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export function registerAuditRoutes(r: RouteRegistrar, deps: AuditRouteDeps): void {
  const requireReader: RequestHandler = (req, _res, next) => {
    const roles = (req.get('x-auth-roles') ?? '').split(',').map((x) => x.trim());
    if (!req.get('x-auth-sub') || !deps.readerRoles.some((role) => roles.includes(role))) {
      next(auditError('AUDIT_READER_ONLY', `reading the audit log needs one of the roles ${deps.readerRoles.join(', ')}`, { extensions: { roles: deps.readerRoles } }));
      return;
    }
    next();
  };
  const reader = { headers: READER_HEADERS, middleware: [requireReader], tags: ['audit'] };

  r.get('/v1/audit/entries', {
    ...reader,
    summary: "The tenant's audit entries in log order, filtered by class, type or actor",
    errors: ['AUDIT_READER_ONLY'],
    query: z.object({
      after: Seq.optional().describe('Entries after this seq (exclusive); default from the start.'),
      limit: z.coerce.number().int().min(1).max(500).default(100),
      class: z.string().max(64).optional(),
      type: z.string().max(200).optional(),
      actor: z.string().max(200).optional(),
    }),
    responses: { 200: z.object({ entries: z.array(Entry) }) },
    handler: async ({ query }) => {
      const rows = await listEntries(deps.pool, { afterSeq: query.after ?? -1, limit: query.limit, eventClass: query.class, eventType: query.type, actor: query.actor });
      return { status: 200, body: { entries: rows.map(entryJson) }, headers: { 'cache-control': 'private, no-store' } };
    },
  });

  r.get('/v1/audit/entries/:seq', {
    ...reader,
    summary: 'One audit entry of the tenant',
    errors: ['AUDIT_READER_ONLY', 'AUDIT_ENTRY_NOT_FOUND'],
    params: z.object({ seq: Seq }),
    responses: { 200: Entry },
    handler: async ({ params }) => {
      const row = await entryBySeq(deps.pool, params.seq);
      if (!row) throw auditError('AUDIT_ENTRY_NOT_FOUND', `no entry ${params.seq} in your tenant`);
      return { status: 200, body: entryJson(row), headers: { 'cache-control': 'private, no-store' } };
    },
  });

  r.get('/v1/audit/tree-heads/latest', {
    ...reader,
    summary: 'The latest signed tree head',
    errors: ['AUDIT_READER_ONLY', 'AUDIT_NOT_SIGNED_YET'],
    responses: { 200: TreeHead },
    handler: async () => {
      const head = await latestTreeHead(deps.pool);
      if (!head) throw auditError('AUDIT_NOT_SIGNED_YET', 'no tree head has been signed yet');
      return { status: 200, body: headJson(head) };
    },
  });

  r.get('/v1/audit/proofs/inclusion', {
    ...reader,
    summary: "An entry's audit path (RFC 9162 §2.1.3) in a signed tree (default the latest)",
    errors: ['AUDIT_READER_ONLY', 'AUDIT_ENTRY_NOT_FOUND', 'AUDIT_TREE_SIZE_INVALID', 'AUDIT_NOT_SIGNED_YET'],
    query: z.object({ seq: Seq, treeSize: Seq.optional() }),
    responses: { 200: z.object({ leafIndex: z.number().int(), leafHash: Base64, auditPath: z.array(Base64), treeHead: TreeHead }) },
    handler: async ({ query }) => {
      const p = await proveInclusion(deps.pool, query.seq, query.treeSize);
      return { status: 200, body: { leafIndex: p.entry.seq, leafHash: b64(p.entry.leafHash), auditPath: p.auditPath.map(b64), treeHead: headJson(p.treeHead) } };
    },
  });

  r.get('/v1/audit/proofs/consistency', {
    ...reader,
    summary: 'That one signed tree is a prefix of a later one (RFC 9162 §2.1.4)',
    errors: ['AUDIT_READER_ONLY', 'AUDIT_TREE_SIZE_INVALID', 'AUDIT_NOT_SIGNED_YET'],
    query: z.object({ first: Seq, second: Seq.optional() }),
    responses: { 200: z.object({ first: TreeHead, second: TreeHead, proof: z.array(Base64) }) },
    handler: async ({ query }) => {
      const p = await proveConsistency(deps.pool, query.first, query.second);
      return { status: 200, body: { first: headJson(p.first), second: headJson(p.second), proof: p.proof.map(b64) } };
    },
  });

  r.get('/v1/audit/public-key', {
    ...reader,
    summary: "The log's Ed25519 public key (SPKI PEM) that verifies entry timestamps and tree heads",
    errors: ['AUDIT_READER_ONLY'],
    responses: { 200: z.object({ keyId: z.string(), publicKeyPem: z.string() }) },
    handler: () => ({ status: 200, body: { keyId: deps.keyId, publicKeyPem: deps.publicKeyPem } }),
  });
}
