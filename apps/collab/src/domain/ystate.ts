/**
 * Pure Yjs state handling shared by compaction, REST reads and the rooms:
 * merging a snapshot with logged updates (pending structs kept, so an update
 * whose dependency is not logged yet is not lost), and reading a document's
 * text. The shared type every client edits is the Y.Text named `content`.
 */
import * as Y from 'yjs';

export const CONTENT = 'content';

/** The y-protocols encoding of an update that carries nothing (no structs, no deletions). */
export function isEmptyUpdate(update: Uint8Array): boolean {
  return update.length === 2 && update[0] === 0 && update[1] === 0;
}

/** A Y.Doc holding the snapshot and the updates, applied in one transaction. */
export function docOf(snapshot: Uint8Array | undefined, updates: readonly Uint8Array[]): Y.Doc {
  const doc = new Y.Doc();
  doc.transact(() => {
    if (snapshot) Y.applyUpdate(doc, snapshot);
    for (const u of updates) Y.applyUpdate(doc, u);
  });
  return doc;
}

/** The merged state of a snapshot and updates as one update (garbage-collected, pending structs included). */
export function mergeState(snapshot: Uint8Array | undefined, updates: readonly Uint8Array[]): Uint8Array {
  const doc = docOf(snapshot, updates);
  try {
    return Y.encodeStateAsUpdate(doc);
  } finally {
    doc.destroy();
  }
}

export interface DocumentContent {
  text: string;
  delta: { insert: unknown; attributes?: Record<string, unknown> }[];
  stateVector: Uint8Array;
  state: Uint8Array;
}

export function contentOf(snapshot: Uint8Array | undefined, updates: readonly Uint8Array[]): DocumentContent {
  const doc = docOf(snapshot, updates);
  try {
    const text = doc.getText(CONTENT);
    return { text: text.toString(), delta: text.toDelta() as DocumentContent['delta'], stateVector: Y.encodeStateVector(doc), state: Y.encodeStateAsUpdate(doc) };
  } finally {
    doc.destroy();
  }
}
