/**
 * The files events published to Kafka (`com.bulwark.files.<kind>` v1, keyed
 * by file id): a scan verdict (clean or rejected) and a delete. They are
 * written to the outbox in the transaction of the change, so an event exists
 * if and only if its change committed.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { createEventRegistry, defineEvent, type EventDefinition } from '@bulwark/events';
import type { Queryable } from '@bulwark/db';

export type FilesEventKind = 'clean' | 'rejected' | 'deleted';

export const FileEventData = z.object({
  fileId: z.string(),
  tenant: z.string(),
  owner: z.string(),
  name: z.string(),
  contentType: z.string(),
  size: z.number().int(),
  /** For rejected: why (infected, type_mismatch, size_mismatch). */
  rejectReason: z.enum(['infected', 'type_mismatch', 'size_mismatch']).nullable(),
  /** For rejected as infected: the signature clamd named. */
  signature: z.string().nullable(),
  /** The type the bytes showed, when scanned. */
  detectedType: z.string().nullable(),
});
export type FileEventData = z.output<typeof FileEventData>;

const define = (kind: FilesEventKind) => defineEvent({ type: `com.bulwark.files.${kind}`, version: 1, schema: FileEventData });

export const FILES_EVENTS: Record<FilesEventKind, EventDefinition<string, FileEventData>> = {
  clean: define('clean'),
  rejected: define('rejected'),
  deleted: define('deleted'),
};

export const filesEventSchemas = createEventRegistry(Object.values(FILES_EVENTS));

/** Appends one event to the outbox inside the caller's transaction, filed under `data.tenant`. */
export async function recordFileEvent(tx: Queryable, kind: FilesEventKind, data: FileEventData): Promise<void> {
  await tx.query({
    name: 'files.record_event',
    text: 'INSERT INTO files_events_outbox (event_id, file_id, tenant_id, type, data) VALUES ($1, $2, $3, $4, $5)',
    values: [randomUUID(), data.fileId, data.tenant, kind, JSON.stringify(data)],
  });
}
