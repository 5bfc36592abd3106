/**
 * The audit log's append cost (issue 33), in one run against the same
 * PostgreSQL, as the runtime role: the real `appendEvents` (head lock,
 * idempotency check, canonical JSON, leaf and chain hashes, Merkle frontier,
 * an Ed25519 entry timestamp, insert, head update) against a plain INSERT
 * of the same rows (the same columns and values, precomputed) into a table
 * of the same shape without triggers or hashing. Both one event per
 * transaction (what the Kafka consumer does) and batches of BATCH events
 * per transaction. One connection each, serial; blocks interleaved, order
 * turning each block; BENCH_ROUNDS rounds, medians printed. Then an
 * inclusion and a consistency proof at the final tree size (the cost that
 * grows with the log: every leaf hash is read). Own schemas, dropped at the end.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { createPool, DB_ROLES, DEV_ROLE_PASSWORD, ensureDbRoles, grantSchemaAccess, migrate, urlForRole, withSystemContext, withTransaction, type DbPool } from '@bulwark/db';
import { silent } from '@bulwark/test-support';
import { ensureInfra } from '../scripts/infra/index.ts';
import { MIGRATIONS_DIR } from '../apps/audit/src/app.ts';
import { appendEvents, type AuditEvent } from '../apps/audit/src/domain/append.ts';
import { loadSigner, type LogSigner } from '../apps/audit/src/domain/signing-key.ts';
import { proveConsistency, proveInclusion } from '../apps/audit/src/domain/proofs.ts';
import { signTreeHead } from '../apps/audit/src/domain/tree-heads.ts';

const OPS = Number(process.env.BENCH_OPS ?? 1000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const BLOCK = 50;
const BATCH = 50;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

let n = 0;
const event = (): AuditEvent => {
  const i = n++;
  const accountId = `acct-${i % 997}`;
  return { eventId: randomUUID(), type: 'com.bulwark.identity.login-succeeded', eventClass: 'authentication', source: '/bulwark/identity', subject: accountId, tenant: `tenant-${i % 10}`, actor: accountId, occurredAt: new Date().toISOString(), data: { accountId, tenant: `tenant-${i % 10}`, sessionId: randomUUID(), method: 'password', ip: '10.0.0.1' } };
};

const PLAIN_TABLE = `CREATE TABLE entries (
  seq bigint PRIMARY KEY, event_id text NOT NULL UNIQUE, event_type text NOT NULL, event_class text NOT NULL, tenant_id text NOT NULL, actor text, subject text,
  occurred_at timestamptz NOT NULL, recorded_at timestamptz NOT NULL, body text NOT NULL, leaf_hash bytea NOT NULL, chain_hash bytea NOT NULL, root_hash bytea NOT NULL, key_id text NOT NULL, signature bytea NOT NULL)`;
const PLAIN_INSERT = `INSERT INTO entries SELECT * FROM unnest($1::int8[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::timestamptz[], $9::timestamptz[], $10::text[], $11::bytea[], $12::bytea[], $13::bytea[], $14::text[], $15::bytea[])`;

type Row = Awaited<ReturnType<typeof appendEvents>>[number];
const columns = (rows: Row[]) => {
  const col = <K extends keyof Row>(k: K) => rows.map((r) => r[k]);
  return [col('seq'), col('eventId'), col('eventType'), col('eventClass'), col('tenantId'), col('actor'), col('subject'), col('occurredAt'), col('recordedAt'), col('body'), col('leafHash'), col('chainHash'), col('rootHash'), col('keyId'), col('signature')];
};

export default async function bench(): Promise<void> {
  const env = await ensureInfra(['postgres']);
  const ownerUrl = env.BULWARK_PG_URL!;
  await ensureDbRoles({ ownerUrl, password: DEV_ROLE_PASSWORD });
  const runtimeUrl = urlForRole(ownerUrl, DB_ROLES.runtime, DEV_ROLE_PASSWORD);
  const id = randomUUID().replaceAll('-', '').slice(0, 8);
  const schemas = { audit: `bench_audit_${id}`, plain: `bench_audit_plain_${id}` };
  const keyDir = mkdtempSync(join(os.tmpdir(), 'bench-audit-'));
  const signer: LogSigner = loadSigner(join(keyDir, 'key.pem'), { create: true });
  const owner = createPool({ connectionString: ownerUrl, name: 'bench-audit-owner', max: 1, statementTimeoutMs: 0, registry: new Registry(), log: silent });
  const pools: DbPool[] = [];
  try {
    await owner.query(`CREATE SCHEMA "${schemas.audit}"`);
    await migrate({ pool: owner, dir: MIGRATIONS_DIR, schema: schemas.audit, phase: 'all' });
    await owner.query(`CREATE SCHEMA "${schemas.plain}"; SET search_path TO "${schemas.plain}"; ${PLAIN_TABLE}`);
    for (const schema of Object.values(schemas)) await grantSchemaAccess({ pool: owner, schema, runtimeRole: DB_ROLES.runtime });
    await owner.query(`REVOKE UPDATE, DELETE, TRUNCATE ON "${schemas.audit}".entries, "${schemas.audit}".tree_heads FROM ${DB_ROLES.runtime}`);
    const pool = (schema: string) => {
      const p = createPool({ connectionString: runtimeUrl, name: `bench-${schema}`, max: 1, registry: new Registry(), log: silent, searchPath: [schema] });
      pools.push(p);
      return p;
    };
    const audited = pool(schemas.audit);
    const plain = pool(schemas.plain);
    const append = (events: AuditEvent[]) => withSystemContext(audited, 'bench.audit', () => withTransaction(audited, (tx) => appendEvents(tx, signer, events)));
    // The plain INSERT writes the rows the audited append produced (same values, its own seqs).
    let plainSeq = 0;
    const insert = (rows: Row[]) => withTransaction(plain, (tx) => tx.query({ name: 'bench.plain', text: PLAIN_INSERT, values: columns(rows.map((r) => ({ ...r, seq: plainSeq++ }))) }));

    const produced: Row[][] = [];
    const timed = async (fn: () => Promise<unknown>) => {
      const started = performance.now();
      await fn();
      return performance.now() - started;
    };
    async function auditedBlock(batch: number): Promise<number> {
      return timed(async () => {
        for (let i = 0; i < BLOCK; i += batch) produced.push(await append(Array.from({ length: batch }, event)));
      });
    }
    async function plainBlock(): Promise<number> {
      const rows = produced.splice(0);
      return timed(async () => {
        for (const r of rows) await insert(r);
      });
    }
    await auditedBlock(1);
    await plainBlock();
    const early = await signTreeHead(audited, signer);
    console.log(`load average at start: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} (2 cores shared with the other helpers)`);
    console.log(`audit bench: ${ROUNDS} rounds of ${OPS} events per variant, blocks of ${BLOCK}; one event per transaction and batches of ${BATCH}; one connection each, serial`);
    const kinds = [1, BATCH] as const;
    const result = new Map<number, { audited: number[]; plain: number[]; ratio: number[] }>(kinds.map((k) => [k, { audited: [], plain: [], ratio: [] }]));
    for (let r = 0; r < ROUNDS; r++) {
      for (const batch of kinds) {
        let a = 0;
        let p = 0;
        for (let b = 0; b < OPS / BLOCK; b++) {
          // The plain side inserts the rows the audited block just made, so it always runs second; the next block's audited run follows it.
          a += await auditedBlock(batch);
          p += await plainBlock();
        }
        const res = result.get(batch)!;
        res.audited.push((OPS * 1000) / a);
        res.plain.push((OPS * 1000) / p);
        res.ratio.push(p / a);
        console.log(`  round ${r + 1}, ${batch} per transaction: audited ${((OPS * 1000) / a).toFixed(0)} events/s, plain INSERT ${((OPS * 1000) / p).toFixed(0)} rows/s (${(p / a).toFixed(3)}×)`);
      }
    }
    for (const batch of kinds) {
      const res = result.get(batch)!;
      console.log(`${batch} per transaction: audited append ${median(res.audited).toFixed(0)} events/s vs plain INSERT ${median(res.plain).toFixed(0)} rows/s → ${median(res.ratio).toFixed(3)}× (median of rounds)`);
    }
    const head = await signTreeHead(audited, signer);
    const proofMs = await timed(() => withSystemContext(audited, 'bench.audit', () => proveInclusion(audited, Math.floor(head.treeSize / 3), head.treeSize)));
    const consistencyMs = await timed(() => withSystemContext(audited, 'bench.audit', () => proveConsistency(audited, early.treeSize, head.treeSize)));
    console.log(`proofs at ${head.treeSize} entries: inclusion ${proofMs.toFixed(1)} ms, consistency ${consistencyMs.toFixed(1)} ms (every leaf hash read once)`);
  } finally {
    await Promise.all(pools.map((p) => p.close()));
    for (const schema of Object.values(schemas)) await owner.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await owner.close();
    rmSync(keyDir, { recursive: true, force: true });
  }
}
