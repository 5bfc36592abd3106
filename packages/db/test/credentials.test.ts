/**
 * Rotating credentials against the real PostgreSQL (SCRAM): a pool built
 * with fileCredentials logs each new connection in as the role the file
 * names at that moment, keeps connections of the previous role open, and
 * a wrong password in the file fails only new connections.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileCredentials } from '../src/index.ts';
import { admin, testPool, uniqueName } from './support.ts';

const base = uniqueName('cred');
const [roleA, roleB] = [`${base}_a`, `${base}_b`];
const dir = mkdtempSync(join(tmpdir(), 'db-credentials-'));
const file = join(dir, 'credentials.json');
// As a Secret volume does: write aside, then swap atomically.
const writeCredentials = (username: string, password: string) => {
  writeFileSync(`${file}.tmp`, JSON.stringify({ username, password }));
  renameSync(`${file}.tmp`, file);
};

beforeAll(async () => {
  await admin(`CREATE ROLE ${roleA} LOGIN PASSWORD 'pa-1'; CREATE ROLE ${roleB} LOGIN PASSWORD 'pb-1'`);
});
afterAll(async () => {
  await admin(`DROP ROLE IF EXISTS ${roleA}; DROP ROLE IF EXISTS ${roleB}`);
  rmSync(dir, { recursive: true, force: true });
});

describe('rotating database credentials', () => {
  it('when the credential file flips to the other role, then new connections log in as it while an open one stays as it was', async () => {
    writeCredentials(roleA, 'pa-1');
    const pool = testPool({ credentials: fileCredentials(file), max: 4 });
    try {
      const held = await pool.connect();
      expect((await held.query<{ u: string }>('SELECT current_user AS u')).rows[0]!.u).toBe(roleA);
      writeCredentials(roleB, 'pb-1');
      const fresh = await pool.connect();
      expect((await fresh.query<{ u: string }>('SELECT current_user AS u')).rows[0]!.u).toBe(roleB);
      // a's password changes (the next rotation): the open session is not affected
      await admin(`ALTER ROLE ${roleA} PASSWORD 'pa-2'`);
      expect((await held.query<{ u: string }>('SELECT current_user AS u')).rows[0]!.u).toBe(roleA);
      held.release(true);
      fresh.release(true);
      writeCredentials(roleA, 'pa-2');
      const again = await pool.connect();
      expect((await again.query<{ u: string }>('SELECT current_user AS u')).rows[0]!.u).toBe(roleA);
      again.release(true);
    } finally {
      await pool.close();
    }
  });

  it('when the file names a wrong password, then a new connection is refused, and it succeeds once the file is right again', async () => {
    writeCredentials(roleB, 'wrong');
    const pool = testPool({ credentials: fileCredentials(file), max: 2, acquireTimeoutMs: 3_000 });
    try {
      await expect(pool.query('SELECT 1')).rejects.toThrow();
      writeCredentials(roleB, 'pb-1');
      expect((await pool.query<{ u: string }>('SELECT current_user AS u')).rows[0]!.u).toBe(roleB);
    } finally {
      await pool.close();
    }
  });
});
