/**
 * The secrets service on rotating database credentials, against the real
 * PostgreSQL: it logs in as the role its credentials file names, its data
 * is granted to the group role both login roles inherit, and after the
 * file flips to the other role (as the operator's DatabaseCredential does
 * with the mounted Secret) its new connections use that role, without a
 * restart and without a failed request.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suffix } from '@bulwark/test-support';
import { ADMIN, call, setupSecrets, type TestSecrets } from './support.ts';

const prefix = `sec_${suffix().replaceAll('-', '_').toLowerCase()}`.slice(0, 40);
const [group, roleA, roleB] = [`${prefix}_grp`, `${prefix}_a`, `${prefix}_b`];
const dir = mkdtempSync(join(tmpdir(), 'secrets-cred-'));
const file = join(dir, 'credentials.json');
const writeCredentials = (username: string, password: string) => {
  writeFileSync(`${file}.tmp`, JSON.stringify({ username, password }));
  renameSync(`${file}.tmp`, file);
};
let env: TestSecrets;

beforeAll(async () => {
  env = await setupSecrets();
  await env.superuser.query(`CREATE ROLE ${group} NOLOGIN; CREATE ROLE ${roleA} LOGIN PASSWORD 'a-1' IN ROLE ${group}; CREATE ROLE ${roleB} LOGIN PASSWORD 'b-1' IN ROLE ${group}`);
  writeCredentials(roleA, 'a-1');
}, 60_000);

afterAll(async () => {
  await env?.cleanup();
  const db = await import('pg');
  const c = new db.default.Client({ connectionString: (await import('@bulwark/test-support')).pgUrl() });
  await c.connect();
  await c.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename IN ('${roleA}', '${roleB}')`);
  for (const r of [roleA, roleB, group]) await c.query(`DROP OWNED BY ${r}; DROP ROLE IF EXISTS ${r}`).catch(() => undefined);
  await c.end();
  rmSync(dir, { recursive: true, force: true });
});

describe('secrets on rotating database credentials', () => {
  it('when the credentials file flips to the other role, then new connections use it and requests keep working without a restart', async () => {
    const { url } = await env.start({ DATABASE_CREDENTIALS_FILE: file, DATABASE_GRANT_ROLE: group });
    expect((await call(url, 'PUT', '/v1/secrets/db-test', { value: 'one' }, ADMIN)).status).toBe(201);
    const users = async () => (await env.superuser.query<{ u: string }>('SELECT DISTINCT usename AS u FROM pg_stat_activity WHERE usename IN ($1, $2) ORDER BY 1', [roleA, roleB])).rows.map((r) => r.u);
    expect(await users()).toEqual([roleA]);
    writeCredentials(roleB, 'b-1');
    // Twenty reads at once: the pool opens connections beyond the ones it holds, and those log in as b.
    const replies = await Promise.all(Array.from({ length: 20 }, () => call(url, 'GET', '/v1/secrets/db-test', undefined, ADMIN)));
    expect(replies.map((r) => r.status)).toEqual(replies.map(() => 200));
    expect(await users()).toEqual([roleA, roleB]);
    expect((await call(url, 'PUT', '/v1/secrets/db-test', { value: 'two' }, ADMIN)).body).toMatchObject({ version: 2 });
  }, 60_000);
});
