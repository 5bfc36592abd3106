/**
 * Compaction against the real PostgreSQL: the snapshot and the log are
 * merged into one snapshot in one transaction, and an update committed
 * while the compaction runs stays in the log (nothing lost), whatever its seq.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import * as Y from 'yjs';
import { createPool, migrate, withTenant, type DbPool } from '@bulwark/db';
import { pgUrl, sessionDbUrl, silent, suffix, TEST_TENANT } from '@bulwark/test-support';
import { MIGRATIONS_DIR } from '../src/app.ts';
import { contentOf, mergeState } from '../src/domain/ystate.ts';
import { appendUpdates, compact, countUpdates, insertDocument, readState } from '../src/store/document-store.ts';

const schema = `collab_compact_${suffix()}`;
let owner: DbPool;
let db: DbPool;

beforeAll(async () => {
  owner = createPool({ connectionString: pgUrl(), name: 'collab-compact-owner', max: 2, registry: new Registry(), log: silent, searchPath: [schema] });
  await owner.query(`CREATE SCHEMA "${schema}"`);
  await migrate({ pool: owner, dir: MIGRATIONS_DIR, schema, phase: 'all' });
  // The owner under FORCE ROW LEVEL SECURITY, as TEST_TENANT.
  db = createPool({ connectionString: sessionDbUrl(pgUrl(), { searchPath: schema, tenant: TEST_TENANT }), name: 'collab-compact', max: 4, registry: new Registry(), log: silent });
});
afterAll(async () => {
  await db.close();
  await owner.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await owner.close();
});

describe('compaction', () => {
  it('when an update commits while a compaction is merging, then it stays in the log and the stored state holds every update', async () => {
    const id = randomUUID();
    const source = new Y.Doc();
    const updates: Uint8Array[] = [];
    source.on('update', (u: Uint8Array) => updates.push(u));
    await withTenant(TEST_TENANT, async () => {
      await insertDocument(db, { id, title: 'compacted', createdBy: 'u', readRoles: [], writeRoles: [] });
      for (let i = 0; i < 10; i++) source.getText('content').insert(i, String(i));
      await appendUpdates(db, id, updates.splice(0));
      source.getText('content').insert(0, 'late:');
      const late = updates.splice(0);

      const merged = await compact(db, id, (snapshot, logged) => {
        expect(logged).toHaveLength(10);
        return mergeState(snapshot, logged);
      });
      expect(merged).toBe(10);

      // An update that commits between the compaction's read and its delete: the merge callback runs inside the transaction.
      const racing = compact(db, id, (snapshot, logged) => mergeState(snapshot, logged));
      await appendUpdates(db, id, late);
      await racing;
      const state = await readState(db, id);
      expect(contentOf(state.snapshot, state.updates.map((u) => u.update)).text).toBe(source.getText('content').toString());
      expect(await countUpdates(db, id)).toBeLessThanOrEqual(1);
    });
  });

  it('when the merge runs while another transaction appends, then the appended update is not deleted by the compaction', async () => {
    const id = randomUUID();
    const source = new Y.Doc();
    const updates: Uint8Array[] = [];
    source.on('update', (u: Uint8Array) => updates.push(u));
    await withTenant(TEST_TENANT, async () => {
      await insertDocument(db, { id, title: 'race', createdBy: 'u', readRoles: [], writeRoles: [] });
      source.getText('content').insert(0, 'abc');
      await appendUpdates(db, id, updates.splice(0));
      source.getText('content').insert(3, 'def');
      const concurrent = updates.splice(0);
      let appended: Promise<void> | undefined;
      await compact(db, id, (snapshot, logged) => {
        appended = appendUpdates(db, id, concurrent); // another connection, committing while this transaction holds its read
        return mergeState(snapshot, logged);
      });
      await appended;
      expect(await countUpdates(db, id)).toBe(1);
      const state = await readState(db, id);
      expect(contentOf(state.snapshot, state.updates.map((u) => u.update)).text).toBe('abcdef');
    });
  });
});
