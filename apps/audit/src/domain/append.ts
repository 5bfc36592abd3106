/**
 * Appends events to the log in the caller's transaction: locks the head
 * (appends are serialised; the head holds the chain head and the Merkle
 * frontier), drops events the log holds already (idempotent by event id),
 * then per event: its canonical body with the next seq, leaf hash, chain
 * hash, the Merkle root at its size, and the log key's entry timestamp.
 */
import { UNASSIGNED_TENANT, type Queryable } from '@bulwark/db';
import { chainHash, entryBytes, entryTimestampText, type AuditEntryBody } from './entry.ts';
import { appendToFrontier, frontierRoot, leafHash } from './merkle.ts';
import type { LogSigner } from './signing-key.ts';
import { insertEntries, lockHead, recordedEventIds, saveHead, type EntryRow } from '../store/log-store.ts';

/** An event to record, before it has a place in the log. */
export interface AuditEvent {
  eventId: string;
  type: string;
  eventClass: string;
  source: string;
  subject: string | null;
  tenant: string | null;
  actor: string | null;
  occurredAt: string;
  data: unknown;
}

/** Returns the entries appended (events already in the log are left out). */
export async function appendEvents(tx: Queryable, signer: LogSigner, events: readonly AuditEvent[], now: Date = new Date()): Promise<EntryRow[]> {
  const head = await lockHead(tx);
  const seen = await recordedEventIds(tx, events.map((e) => e.eventId));
  let { treeSize, chainHead, frontier } = head;
  const rows: EntryRow[] = [];
  const recordedAt = now.toISOString();
  for (const e of events) {
    if (seen.has(e.eventId)) continue;
    seen.add(e.eventId);
    const body: AuditEntryBody = { seq: treeSize, eventId: e.eventId, type: e.type, eventClass: e.eventClass, source: e.source, subject: e.subject, tenant: e.tenant, actor: e.actor, occurredAt: e.occurredAt, recordedAt, data: e.data };
    const bytes = entryBytes(body);
    const leaf = leafHash(bytes);
    chainHead = chainHash(chainHead, leaf);
    frontier = appendToFrontier(frontier, treeSize, leaf);
    const signature = signer.sign(entryTimestampText({ seq: treeSize, recordedAt, eventClass: e.eventClass, leafHash: leaf, chainHash: chainHead }));
    rows.push({
      seq: treeSize,
      eventId: e.eventId,
      eventType: e.type,
      eventClass: e.eventClass,
      tenantId: e.tenant ?? UNASSIGNED_TENANT,
      actor: e.actor,
      subject: e.subject,
      occurredAt: new Date(e.occurredAt),
      recordedAt: now,
      body: bytes.toString('utf8'),
      redactedAt: null,
      leafHash: leaf,
      chainHash: chainHead,
      rootHash: frontierRoot(frontier),
      keyId: signer.keyId,
      signature,
    });
    treeSize++;
  }
  if (rows.length === 0) return rows;
  await insertEntries(tx, rows);
  await saveHead(tx, { treeSize, chainHead, frontier });
  return rows;
}
