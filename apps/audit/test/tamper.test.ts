/**
 * Tampering with the log directly in PostgreSQL, as the superuser with the
 * triggers off, in each of the four ways (changed, deleted, inserted,
 * reordered; naive and with every hash recomputed): the verifier, reading
 * the database without the service, names the first bad entry. One run of
 * the real CLI checks its exit code and message.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from '@jest/globals';
import { pgUrl } from '@bulwark/test-support';
import { verifyDatabase } from '../src/cli/audit.ts';
import { chainHash, GENESIS_CHAIN } from '../src/domain/entry.ts';
import { leafHash } from '../src/domain/merkle.ts';
import { publicKeyPath } from '../src/domain/signing-key.ts';
import { signTreeHead } from '../src/domain/tree-heads.ts';
import { setupAudit, type TestAudit } from './support.ts';

const ENTRIES = 12;
let audit: TestAudit | undefined;

afterEach(async () => {
  await audit?.cleanup();
  audit = undefined;
});

async function seededLog(): Promise<TestAudit> {
  audit = await setupAudit();
  await audit.appendSample(5);
  await signTreeHead(audit.app.pool, audit.app.signer);
  await audit.appendSample(ENTRIES - 5);
  await signTreeHead(audit.app.pool, audit.app.signer);
  return audit;
}

const verify = (a: TestAudit) => verifyDatabase({ databaseUrl: pgUrl(), schema: a.schema, publicKeyPems: [readFileSync(publicKeyPath(a.keyFile), 'utf8')] });

/** Runs statements as the superuser with triggers off (what an attacker with the database would do). */
async function tamper(a: TestAudit, ...statements: [string, unknown[]?][]): Promise<void> {
  const client = await a.superuser.connect();
  try {
    await client.query('BEGIN');
    await client.query('SET LOCAL session_replication_role = replica');
    for (const [text, values] of statements) await client.query(text, values);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK');
    throw err;
  } finally {
    client.release();
  }
}

/** Recomputes every leaf and chain hash from the bodies, as an attacker covering their tracks would (no key, so no signatures). */
async function recomputeHashes(a: TestAudit): Promise<void> {
  const { rows } = await a.superuser.query<{ seq: string; body: string }>('SELECT seq, body FROM entries ORDER BY seq');
  let chain: Buffer = GENESIS_CHAIN;
  const statements: [string, unknown[]][] = [];
  for (const r of rows) {
    const leaf = leafHash(Buffer.from(r.body, 'utf8'));
    chain = chainHash(chain, leaf);
    statements.push(['UPDATE entries SET leaf_hash = $2, chain_hash = $3 WHERE seq = $1', [r.seq, leaf, chain]]);
  }
  await tamper(a, ...statements);
}

const setBodyField = (field: string, value: unknown) => `jsonb_set(body::jsonb, '{${field}}', '${JSON.stringify(value)}'::jsonb)::text`;

describe('audit verifier against tampering in PostgreSQL', () => {
  it('when nobody touched the log, then it verifies every entry and tree head', async () => {
    const a = await seededLog();
    // The service signed the empty tree at start, then the two heads above.
    expect(await verify(a)).toMatchObject({ ok: true, entries: ENTRIES, treeHeads: 3 });
  });

  it('when an entry is changed, then the verifier names it (changed)', async () => {
    const a = await seededLog();
    await tamper(a, [`UPDATE entries SET body = ${setBodyField('actor', 'someone-else')} WHERE seq = 7`]);
    expect(await verify(a)).toMatchObject({ ok: false, firstBadSeq: 7, finding: 'changed' });
  });

  it('when an entry is changed and every hash recomputed, then the verifier names it (not signed)', async () => {
    const a = await seededLog();
    await tamper(a, [`UPDATE entries SET body = ${setBodyField('actor', 'someone-else')} WHERE seq = 3`]);
    await recomputeHashes(a);
    expect(await verify(a)).toMatchObject({ ok: false, firstBadSeq: 3, finding: 'not-signed' });
  });

  it('when an entry is deleted, then the verifier names the missing one', async () => {
    const a = await seededLog();
    await tamper(a, ['DELETE FROM entries WHERE seq = 4']);
    expect(await verify(a)).toMatchObject({ ok: false, firstBadSeq: 4, finding: 'deleted' });
  });

  it('when an entry is deleted and the later ones renumbered with their hashes recomputed, then the verifier names its place', async () => {
    const a = await seededLog();
    // Bodies still name their old seq (rewriting them too is the insertion case below).
    await tamper(a, ['DELETE FROM entries WHERE seq = 4'], ['UPDATE entries SET seq = seq + 1000 WHERE seq > 4'], ['UPDATE entries SET seq = seq - 1001 WHERE seq >= 1000']);
    await recomputeHashes(a);
    expect(await verify(a)).toMatchObject({ ok: false, firstBadSeq: 4, finding: 'moved' });
  });

  it('when the last entries are cut off, then the signed tree head shows the log was truncated', async () => {
    const a = await seededLog();
    await tamper(a, [`DELETE FROM entries WHERE seq >= ${ENTRIES - 2}`]);
    expect(await verify(a)).toMatchObject({ ok: false, firstBadSeq: ENTRIES - 2, finding: 'truncated' });
  });

  it('when an entry is inserted (later ones renumbered, its body naming its place, hashes recomputed), then the verifier names it', async () => {
    const a = await seededLog();
    await tamper(
      a,
      ['UPDATE entries SET seq = seq + 1001 WHERE seq >= 6'],
      ['UPDATE entries SET seq = seq - 1000 WHERE seq >= 1000'],
      [`UPDATE entries SET body = jsonb_set(body::jsonb, '{seq}', to_jsonb(seq))::text WHERE seq > 6`],
      [`INSERT INTO entries SELECT 6, 'forged-event', event_type, event_class, tenant_id, 'intruder', subject, occurred_at, recorded_at,
          jsonb_set(jsonb_set(body::jsonb, '{seq}', '6'::jsonb), '{eventId}', '"forged-event"')::text, leaf_hash, chain_hash, root_hash, key_id, signature FROM entries WHERE seq = 5`],
    );
    await recomputeHashes(a);
    expect(await verify(a)).toMatchObject({ ok: false, firstBadSeq: 6, finding: 'not-signed' });
  });

  it('when two entries are swapped, then the verifier names the first of them (moved)', async () => {
    const a = await seededLog();
    await tamper(a, ['UPDATE entries SET seq = 1000 WHERE seq = 2'], ['UPDATE entries SET seq = 2 WHERE seq = 9'], ['UPDATE entries SET seq = 9 WHERE seq = 1000']);
    expect(await verify(a)).toMatchObject({ ok: false, firstBadSeq: 2, finding: 'moved' });
  });

  it('when two entries are swapped with their bodies renumbered and hashes recomputed, then the verifier names the first of them', async () => {
    const a = await seededLog();
    await tamper(
      a,
      ['UPDATE entries SET seq = 1000 WHERE seq = 2'],
      ['UPDATE entries SET seq = 2 WHERE seq = 9'],
      ['UPDATE entries SET seq = 9 WHERE seq = 1000'],
      [`UPDATE entries SET body = jsonb_set(body::jsonb, '{seq}', to_jsonb(seq))::text WHERE seq IN (2, 9)`],
    );
    await recomputeHashes(a);
    expect(await verify(a)).toMatchObject({ ok: false, firstBadSeq: 2, finding: 'not-signed' });
  });

  it('when the CLI verifies a tampered log, then it exits 1 naming the first bad entry, and 0 on an intact one', async () => {
    const a = await seededLog();
    const cli = fileURLToPath(new URL('../src/cli/audit.ts', import.meta.url));
    const run = () =>
      spawnSync(process.execPath, ['--conditions=bulwark-source', cli, 'verify', '--database-url', pgUrl(), '--schema', a.schema, '--public-key', publicKeyPath(a.keyFile)], { encoding: 'utf8' });
    const intact = run();
    expect(intact.stdout).toContain(`audit log intact: ${ENTRIES} entries`);
    expect(intact.status).toBe(0);
    await tamper(a, ['DELETE FROM entries WHERE seq = 8']);
    const tampered = run();
    expect(tampered.stdout).toContain('first bad entry 8 (deleted)');
    expect(tampered.status).toBe(1);
  });
});
