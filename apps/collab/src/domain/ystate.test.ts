import { describe, expect, it } from '@jest/globals';
import * as Y from 'yjs';
import { CONTENT, contentOf, isEmptyUpdate, mergeState } from './ystate.ts';

function edits(): { doc: Y.Doc; updates: Uint8Array[] } {
  const doc = new Y.Doc();
  const updates: Uint8Array[] = [];
  doc.on('update', (u: Uint8Array) => updates.push(u));
  return { doc, updates };
}

describe('ystate', () => {
  it('when a snapshot and later updates are merged, then the result equals the editing document (text, formatting, state vector)', () => {
    const { doc, updates } = edits();
    const text = doc.getText(CONTENT);
    text.insert(0, 'hello world');
    const snapshot = mergeState(undefined, updates.splice(0));
    text.format(0, 5, { bold: true });
    text.delete(5, 6);
    text.insert(5, '!');
    const merged = mergeState(snapshot, updates);
    const read = contentOf(merged, []);
    expect(read.text).toBe('hello!');
    expect(read.delta).toEqual(text.toDelta());
    expect(read.delta[0]).toEqual({ insert: 'hello!', attributes: { bold: true } }); // an insert at the end of a bold run is bold
    expect(Buffer.from(read.stateVector)).toEqual(Buffer.from(Y.encodeStateVector(doc)));
  });

  it('when an update arrives before the one it depends on, then merging keeps it pending and nothing is lost once the other comes', () => {
    const { doc, updates } = edits();
    doc.getText(CONTENT).insert(0, 'ab');
    doc.getText(CONTENT).insert(2, 'cd');
    const [first, second] = updates as [Uint8Array, Uint8Array];
    const onlySecond = mergeState(undefined, [second]);
    expect(contentOf(onlySecond, []).text).toBe('');
    expect(contentOf(onlySecond, [first]).text).toBe('abcd');
  });

  it('the same update applied twice changes nothing (the log may hold duplicates)', () => {
    const { doc, updates } = edits();
    doc.getText(CONTENT).insert(0, 'x');
    expect(contentOf(undefined, [updates[0]!, updates[0]!]).text).toBe('x');
  });

  it('recognises the empty update a synced client sends', () => {
    const a = new Y.Doc();
    expect(isEmptyUpdate(Y.encodeStateAsUpdate(a, Y.encodeStateVector(a)))).toBe(true);
    a.getText(CONTENT).insert(0, 'x');
    expect(isEmptyUpdate(Y.encodeStateAsUpdate(a))).toBe(false);
  });
});
