/**
 * Retention per class: entries past their class's retention are redacted
 * (body gone, hashes and signed timestamp kept) and the log still verifies;
 * the trigger lets no other change through, not even a redaction before
 * retention; a body wiped early behind the trigger's back is named by the
 * verifier.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from '@jest/globals';
import { sqlStateOf, withSystemContext, withTransaction } from '@bulwark/db';
import { pgUrl } from '@bulwark/test-support';
import { verifyDatabase } from '../src/cli/audit.ts';
import { appendEvents } from '../src/domain/append.ts';
import { redactExpired } from '../src/domain/retention.ts';
import { publicKeyPath } from '../src/domain/signing-key.ts';
import { signTreeHead } from '../src/domain/tree-heads.ts';
import { AUDITOR, call, sampleEvent, setupAudit, type TestAudit } from './support.ts';

let audit: TestAudit | undefined;
afterEach(async () => {
  await audit?.cleanup();
  audit = undefined;
});

const YEARS_AGO = (n: number) => new Date(Date.now() - n * 365 * 86_400_000);

/** Two logins three years old (authentication: 400 days), a payment as old (10 years), two fresh logins. */
async function agedLog(): Promise<TestAudit> {
  const a = (audit = await setupAudit());
  const append = (events: ReturnType<typeof sampleEvent>[], now: Date) => withSystemContext(a.app.pool, 'audit.test', () => withTransaction(a.app.pool, (tx) => appendEvents(tx, a.app.signer, events, now)));
  await append([sampleEvent(0), sampleEvent(1)], YEARS_AGO(3));
  await append([{ ...sampleEvent(2), type: 'com.bulwark.payments.payment-refunded', eventClass: 'payment' }], YEARS_AGO(3));
  await append([sampleEvent(3), sampleEvent(4)], new Date());
  await signTreeHead(a.app.pool, a.app.signer);
  return a;
}

const verify = (a: TestAudit) => verifyDatabase({ databaseUrl: pgUrl(), schema: a.schema, publicKeyPems: [readFileSync(publicKeyPath(a.keyFile), 'utf8')] });

describe('audit retention', () => {
  it('when entries pass their class retention, then they are redacted and the log still verifies, proofs included', async () => {
    const a = await agedLog();
    expect(await redactExpired(a.superuser)).toBe(2);
    expect(await redactExpired(a.superuser)).toBe(0);
    const { rows } = await a.superuser.query<{ seq: string; redacted: boolean }>('SELECT seq, body IS NULL AS redacted FROM entries ORDER BY seq');
    expect(rows.map((r) => r.redacted)).toEqual([true, true, false, false, false]);
    expect(await verify(a)).toMatchObject({ ok: true, entries: 5 });
    const entry = await call(a.url, 'GET', '/v1/audit/entries/0', undefined, AUDITOR);
    expect(entry.body).toMatchObject({ seq: 0, body: null, redactedAt: expect.any(String) });
    expect((await call(a.url, 'GET', '/v1/audit/proofs/inclusion?seq=0', undefined, AUDITOR)).status).toBe(200);
  });

  it('when a fresh entry is redacted through the sanctioned path, then the trigger refuses it', async () => {
    const a = await agedLog();
    const client = await a.superuser.connect();
    try {
      await client.query('BEGIN');
      await client.query("SELECT set_config('audit.redact', 'on', true)");
      const err = await client.query('UPDATE entries SET body = NULL, redacted_at = now() WHERE seq = 4').then(() => undefined, (e: unknown) => e);
      expect(sqlStateOf(err)).toBe('42501');
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
  });

  it('when a fresh body is wiped behind the trigger, then the verifier names it (redacted early)', async () => {
    const a = await agedLog();
    const client = await a.superuser.connect();
    try {
      await client.query('BEGIN');
      await client.query('SET LOCAL session_replication_role = replica');
      await client.query('UPDATE entries SET body = NULL, redacted_at = now() WHERE seq = 3');
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    expect(await verify(a)).toMatchObject({ ok: false, firstBadSeq: 3, finding: 'redacted-early' });
  });
});
