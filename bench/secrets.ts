/**
 * The cost of a secret read (issue 33), in one run against the same
 * PostgreSQL, as the runtime role in a tenant transaction: the real
 * `readSecret` of a service (policy lookup, version row, unwrap of the data
 * key, AES-256-GCM decrypt, the audit event inserted into the outbox, all in
 * one transaction) against a plain SELECT of the same value stored in clear
 * in a table of the same key, in a transaction of the same tenant. Then the
 * KEK rotation's re-wrap throughput (data keys per second). One connection
 * each, serial; blocks interleaved, order turning each block; BENCH_ROUNDS
 * rounds, medians printed. Own schemas, dropped at the end.
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { Registry } from 'prom-client';
import { createPool, DB_ROLES, DEV_ROLE_PASSWORD, ensureDbRoles, grantSchemaAccess, migrate, urlForRole, withTenant, withTransaction, type DbPool } from '@bulwark/db';
import { silent } from '@bulwark/test-support';
import { ensureInfra } from '../scripts/infra/index.ts';
import { MIGRATIONS_DIR } from '../apps/secrets/src/app.ts';
import { generateKek, type KeyRing } from '../apps/secrets/src/domain/envelope.ts';
import { rewrapStaleKeys } from '../apps/secrets/src/domain/rewrap.ts';
import { readSecret, setAccessPolicy, writeSecret } from '../apps/secrets/src/domain/secrets.ts';

const OPS = Number(process.env.BENCH_OPS ?? 1000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECRETS = 100;
const BLOCK = 50;
const TENANT = 'bench-tenant';
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export default async function bench(): Promise<void> {
  const env = await ensureInfra(['postgres']);
  const ownerUrl = env.BULWARK_PG_URL!;
  await ensureDbRoles({ ownerUrl, password: DEV_ROLE_PASSWORD });
  const runtimeUrl = urlForRole(ownerUrl, DB_ROLES.runtime, DEV_ROLE_PASSWORD);
  const id = randomUUID().replaceAll('-', '').slice(0, 8);
  const schemas = { secrets: `bench_secrets_${id}`, plain: `bench_secrets_plain_${id}` };
  const owner = createPool({ connectionString: ownerUrl, name: 'bench-secrets-owner', max: 1, statementTimeoutMs: 0, registry: new Registry(), log: silent });
  const pools: DbPool[] = [];
  const pool = (schema: string) => {
    const p = createPool({ connectionString: runtimeUrl, name: `bench-${schema}`, max: 1, registry: new Registry(), log: silent, searchPath: [schema] });
    pools.push(p);
    return p;
  };
  try {
    await migrate({ pool: owner, dir: MIGRATIONS_DIR, schema: schemas.secrets, phase: 'all' });
    await owner.query(`CREATE SCHEMA "${schemas.plain}"; SET search_path TO "${schemas.plain}";
      CREATE TABLE plain_secrets (tenant_id text NOT NULL DEFAULT current_setting('bulwark.tenant', true), name text NOT NULL, value text NOT NULL, PRIMARY KEY (tenant_id, name))`);
    for (const schema of Object.values(schemas)) await grantSchemaAccess({ pool: owner, schema, runtimeRole: DB_ROLES.runtime });
    const ring: KeyRing = { active: 1, keys: new Map([[1, generateKek()]]) };
    const ctx = { pool: pool(schemas.secrets), ring, maxValueBytes: 65_536 };
    const plain = pool(schemas.plain);
    const names = Array.from({ length: SECRETS }, (_, i) => `svc-${i % 10}/key-${i}`);
    const value = (i: number) => `value-${i}-${randomUUID()}`;
    await withTenant(TENANT, async () => {
      for (const [i, name] of names.entries()) {
        await writeSecret(ctx, { kind: 'admin', sub: 'bench' }, name, value(i));
        await plain.query('INSERT INTO plain_secrets (name, value) VALUES ($1, $2)', [name, value(i)]);
      }
      await setAccessPolicy(ctx, { kind: 'admin', sub: 'bench' }, 'orders', ['*']);
    });
    const service = { kind: 'service' as const, sub: 'orders' };
    let k = 0;
    const audited = () => withTenant(TENANT, () => readSecret(ctx, service, names[k++ % SECRETS]!, undefined));
    const select = () => withTenant(TENANT, () => withTransaction(plain, (tx) => tx.query({ name: 'bench.plain-read', text: 'SELECT value FROM plain_secrets WHERE name = $1', values: [names[k++ % SECRETS]] })));
    const timed = async (fn: () => Promise<unknown>) => {
      const started = performance.now();
      for (let i = 0; i < BLOCK; i++) await fn();
      return performance.now() - started;
    };
    await timed(audited);
    await timed(select);
    console.log(`load average at start: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} (2 cores shared with the other helpers)`);
    console.log(`secrets bench: ${ROUNDS} rounds of ${OPS} reads per variant over ${SECRETS} secrets, blocks of ${BLOCK}; one connection each, serial`);
    const ratios: number[] = [];
    const rates = { audited: [] as number[], plain: [] as number[] };
    for (let r = 0; r < ROUNDS; r++) {
      let a = 0;
      let p = 0;
      for (let b = 0; b < OPS / BLOCK; b++) {
        if (b % 2 === 0) {
          a += await timed(audited);
          p += await timed(select);
        } else {
          p += await timed(select);
          a += await timed(audited);
        }
      }
      rates.audited.push((OPS * 1000) / a);
      rates.plain.push((OPS * 1000) / p);
      ratios.push(a / p);
      console.log(`  round ${r + 1}: audited encrypted read ${((OPS * 1000) / a).toFixed(0)}/s (${(a / OPS).toFixed(3)} ms), plain SELECT ${((OPS * 1000) / p).toFixed(0)}/s (${(p / OPS).toFixed(3)} ms) → ${(a / p).toFixed(3)}× the time`);
    }
    console.log(`read: audited encrypted ${median(rates.audited).toFixed(0)}/s vs plain SELECT ${median(rates.plain).toFixed(0)}/s → ${median(ratios).toFixed(3)}× the time per read (median of rounds)`);
    // KEK rotation: every data key re-wrapped under a new version; values untouched.
    for (let i = SECRETS; i < 2000; i++) await withTenant(TENANT, () => writeSecret(ctx, { kind: 'admin', sub: 'bench' }, `bulk/key-${i}`, value(i)));
    const rotated: KeyRing = { active: 2, keys: new Map([...ring.keys, [2, generateKek()]]) };
    const started = performance.now();
    const n = await rewrapStaleKeys(ctx.pool, rotated, 200);
    const ms = performance.now() - started;
    console.log(`KEK rotation: ${n} data keys re-wrapped in ${ms.toFixed(0)} ms → ${((n * 1000) / ms).toFixed(0)} keys/s (batches of 200)`);
  } finally {
    await Promise.all(pools.map((p) => p.close()));
    for (const schema of Object.values(schemas)) await owner.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await owner.close();
  }
}
