/**
 * Catalog search (issue 28): search and autocomplete p95 at 20 concurrent
 * clients over the demo catalog, against plain ILIKE on the same products in
 * the same run. The catalog is the service's own demo catalog
 * (apps/catalog/src/seed, BENCH_PRODUCTS products, default 20,000; the issue's
 * figure is 1,000,000) bulk-loaded with COPY (bench/lib/catalog-bulk-load.ts)
 * into a schema of its own after the service's migrations, queried as the runtime role under row-level security
 * through the service's use cases (searchCatalog, suggest), so the figure is
 * the database path a request takes minus HTTP. Queries: the relevance set
 * (apps/catalog/test/relevance, typos included); autocomplete: their first
 * 3–8 letters; "search broad": queries matching thousands of products (no
 * baseline: ILIKE takes seconds per call on these). Baselines: every word `name ILIKE '%w%'` (ANDed, popularity
 * order, count) and `name ILIKE 'prefix%' OR name ILIKE '% prefix%'`. Blocks
 * alternate between the two; the schema is dropped at the end. It also prints
 * the relevance set's precision@5 and typo-tolerance rate at this size, and
 * each case's CPU per call (this process plus the pool's PostgreSQL backends,
 * read from /proc): on a shared machine p95 at 20 clients is mostly the queue
 * for CPU, and CPU per call is the part the code decides.
 *
 * BENCH_KEEP=1 keeps the dataset for the next run: the schema is named by the
 * product count (`catalog_bench_keep_<count>`), a run finding it loaded with
 * that count (a marker row written after the load) reuses it (new migrations
 * still apply through prepare()), and it is not dropped at the end; without
 * the marker (an interrupted load) it is dropped and loaded again. Drop it with
 * `DROP SCHEMA catalog_bench_keep_<count> CASCADE`. BENCH_CASES (comma-separated
 * case names, e.g. `search,autocomplete`) runs only those while iterating; the
 * ratio needs all four.
 */
import fs from 'node:fs';
import { Registry } from 'prom-client';
import { createPool, DB_ROLES, DEV_ROLE_PASSWORD, ensureDbRoles, urlForRole, withTenant, type DbPool } from '@bulwark/db';
import { silent, suffix } from '@bulwark/test-support';
import { ensureInfra } from '../scripts/infra/index.ts';
import { createCatalogApp } from '../apps/catalog/src/app.ts';
import { loadCatalogConfig } from '../apps/catalog/src/config.ts';
import { cachedVocabulary, searchCatalog, suggest } from '../apps/catalog/src/domain/search.ts';
import { wordsOf } from '../apps/catalog/src/domain/text.ts';
import { bulkLoadDemoCatalog } from './lib/catalog-bulk-load.ts';
import { measureClosedLoop, type Round } from './lib/closed-loop.ts';

const PRODUCTS = Number(process.env.BENCH_PRODUCTS ?? 20_000);
const OPS = Number(process.env.BENCH_OPS ?? 2_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 200);
const CONCURRENCY = 20;
const TENANT = 'bench-catalog';
const KEEP = process.env.BENCH_KEEP === '1';

const relevanceDir = new URL('../apps/catalog/test/relevance/', import.meta.url);
const relevance = fs
  .readdirSync(relevanceDir)
  .flatMap((f) => (JSON.parse(fs.readFileSync(new URL(f, relevanceDir), 'utf8')) as { queries: { q: string; kind: string; expect: string[] }[] }).queries);
const queries = relevance.map((c) => c.q);
const prefixes = queries.map((q, i) => q.slice(0, 3 + (i % 6)).trim());
/** Queries matching thousands of demo products (colours, adjectives, generated nouns): search's broad path. */
const broadQueries = ['black', 'usb', 'coffee grinder', 'northwind headset', 'slim jeans', 'premium', 'camping chair', 'sand', 'eco lantern', 'red travel mug'];

function p95(rounds: Round[]): number {
  const all = Float64Array.from(rounds.flatMap((r) => [...r.latencies])).sort();
  return all[Math.floor(all.length * 0.95)]!;
}

async function ilikeSearch(pool: DbPool, q: string): Promise<void> {
  const words = wordsOf(q);
  const where = words.map((_, i) => `name ILIKE $${i + 1}`).join(' AND ') || 'true';
  const values = words.map((w) => `%${w}%`);
  await pool.query(`SELECT id, (SELECT count(*) FROM products WHERE ${where}) AS total FROM products WHERE ${where} ORDER BY popularity DESC, id LIMIT 20`, values);
}

async function ilikeSuggest(pool: DbPool, prefix: string): Promise<void> {
  await pool.query('SELECT id, name, brand FROM products WHERE name ILIKE $1 OR name ILIKE $2 ORDER BY popularity DESC, id LIMIT 8', [`${prefix}%`, `% ${prefix}%`]);
}

/**
 * CPU time used so far (ms) by this process and by the PostgreSQL backends of the bench's pool (found by
 * application_name, read from /proc: the local server): the cost of a call whatever else loads the machine.
 */
async function cpuNow(owner: DbPool): Promise<{ node: number; pg: number }> {
  const { user, system } = process.cpuUsage();
  const { rows } = await owner.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE application_name = 'bench-catalog'");
  const tick = 1000 / 100; // USER_HZ
  let pg = 0;
  for (const { pid } of rows) {
    try {
      const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      pg += (Number(fields[11]) + Number(fields[12])) * tick; // utime, stime (fields 14 and 15 of stat)
    } catch {
      // the backend ended between the query and the read
    }
  }
  return { node: (user + system) / 1000, pg };
}

/** Whether `schema` holds a finished load of PRODUCTS products (the marker table the load writes last). */
async function keptDataset(owner: DbPool, schema: string): Promise<boolean> {
  const { rows } = await owner.query<{ marker: string | null }>(`SELECT to_regclass(format('%I.bench_dataset', $1::text))::text AS marker`, [schema]);
  if (rows[0]?.marker == null) return false;
  const { rows: marker } = await owner.query<{ products: number }>(`SELECT products FROM "${schema}".bench_dataset`);
  return marker[0]?.products === PRODUCTS;
}

export default async function main(): Promise<void> {
  const infra = await ensureInfra();
  const ownerUrl = infra.BULWARK_PG_URL!;
  await ensureDbRoles({ ownerUrl, password: DEV_ROLE_PASSWORD });
  const schema = KEEP ? `catalog_bench_keep_${PRODUCTS}` : `catalog_bench_${suffix(8)}`;
  const owner = createPool({ connectionString: ownerUrl, name: 'bench-catalog-owner', max: 1, registry: new Registry(), log: silent });
  const kept = KEEP && (await keptDataset(owner, schema));
  if (KEEP && !kept) await owner.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  const config = loadCatalogConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    DATABASE_URL: urlForRole(ownerUrl, DB_ROLES.runtime, DEV_ROLE_PASSWORD),
    MIGRATION_DATABASE_URL: ownerUrl,
    CATALOG_SCHEMA: schema,
    CATALOG_SEED_COUNT: '0',
    DB_POOL_MAX: String(CONCURRENCY),
  });
  const app = createCatalogApp({ config, logDestination: { write: () => true } as never });
  await app.prepare();
  if (kept) {
    console.log(`catalog-search: reusing the ${PRODUCTS} products kept in ${schema}; ${queries.length} queries, ${CONCURRENCY} clients, ${OPS} calls × ${ROUNDS} rounds each`);
  } else {
    const seeding = performance.now();
    console.log(`catalog-search: loading ${PRODUCTS} products with COPY into ${schema}`);
    const loaded = await bulkLoadDemoCatalog({ ownerUrl, schema, tenant: TENANT, count: PRODUCTS, log: (line) => console.log(line) });
    if (KEEP) await owner.query(`CREATE TABLE "${schema}".bench_dataset AS SELECT $1::int AS products, now() AS loaded_at`, [PRODUCTS]);
    console.log(
      `catalog-search: ${PRODUCTS} products (${loaded.variants} variants) loaded in ${((performance.now() - seeding) / 1000).toFixed(1)} s; ${queries.length} queries, ${CONCURRENCY} clients, ${OPS} calls × ${ROUNDS} rounds each`,
    );
  }
  const pool = createPool({ connectionString: urlForRole(ownerUrl, DB_ROLES.runtime, DEV_ROLE_PASSWORD), name: 'bench-catalog', max: CONCURRENCY, statementTimeoutMs: 300_000, acquireTimeoutMs: 600_000, searchPath: [schema], registry: new Registry(), log: silent });
  const filters = {};
  // The service's own vocabulary cache (the product cache, L1 here: the bench sets no REDIS_URL).
  const vocabulary = cachedVocabulary(app.products);
  const cases: Record<string, (i: number) => Promise<unknown>> = {
    search: (i) => searchCatalog(pool, { q: queries[i % queries.length]!, filters, limit: 20, offset: 0 }, { vocabulary }),
    'search ILIKE': (i) => ilikeSearch(pool, queries[i % queries.length]!),
    'search broad': (i) => searchCatalog(pool, { q: broadQueries[i % broadQueries.length]!, filters, limit: 20, offset: 0 }, { vocabulary }),
    autocomplete: (i) => suggest(pool, prefixes[i % prefixes.length]!, 8, vocabulary),
    'autocomplete ILIKE': (i) => ilikeSuggest(pool, prefixes[i % prefixes.length]!),
  };
  const only = process.env.BENCH_CASES?.split(',').map((c) => c.trim());
  for (const name of Object.keys(cases)) if (only !== undefined && !only.includes(name)) delete cases[name];
  const rounds: Record<string, Round[]> = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
  const cpu: Record<string, { node: number; pg: number }> = {};
  try {
    await withTenant(TENANT, async () => {
      for (const op of Object.values(cases)) await measureClosedLoop(op, { ops: WARMUP, concurrency: CONCURRENCY }); // warm-up
      for (let r = 0; r < ROUNDS; r++) {
        const order = r % 2 === 0 ? Object.keys(cases) : Object.keys(cases).reverse();
        for (const name of order) {
          const before = await cpuNow(owner);
          rounds[name]!.push(await measureClosedLoop(cases[name]!, { ops: OPS, concurrency: CONCURRENCY }));
          const after = await cpuNow(owner);
          cpu[name] = { node: (cpu[name]?.node ?? 0) + after.node - before.node, pg: (cpu[name]?.pg ?? 0) + after.pg - before.pg };
        }
      }
    });
    // The relevance set at this size (the test holds it at 3,000 products): precision@5 and the typo-tolerance rate.
    const scored = await withTenant(TENANT, () => Promise.all(relevance.map(async (c) => {
      const { items } = await searchCatalog(pool, { q: c.q, filters, limit: 5, offset: 0 }, { vocabulary });
      return { c, found: c.expect.filter((slug) => items.some((i) => i.slug === slug)).length };
    })));
    const typos = scored.filter((s) => s.c.kind !== 'exact');
    console.log(
      `relevance at ${PRODUCTS} products: precision@5 ${(scored.reduce((n, s) => n + s.found / Math.min(5, s.c.expect.length), 0) / scored.length).toFixed(3)}, typo tolerance ${(typos.filter((s) => s.found > 0).length / typos.length).toFixed(3)} (${typos.length} typo queries)`,
    );
    const rows = Object.entries(rounds).map(([name, rs]) => ({ name, p95: p95(rs), opsPerSec: rs.reduce((s, x) => s + x.ops, 0) / rs.reduce((s, x) => s + x.seconds, 0) }));
    for (const row of rows) {
      const c = cpu[row.name]!;
      const n = OPS * ROUNDS;
      console.log(`${row.name.padEnd(20)} p95 ${row.p95.toFixed(2).padStart(8)} ms   ${row.opsPerSec.toFixed(0).padStart(6)} ops/s   CPU ${((c.node + c.pg) / n).toFixed(2)} ms/op (bench process ${(c.node / n).toFixed(2)}, PostgreSQL ${(c.pg / n).toFixed(2)})`);
    }
    const by = Object.fromEntries(rows.map((r) => [r.name, r]));
    if (by.search && by['search ILIKE'] && by.autocomplete && by['autocomplete ILIKE']) console.log(`search p95 / ILIKE p95: ${(by.search!.p95 / by['search ILIKE']!.p95).toFixed(2)}×; autocomplete p95 / ILIKE p95: ${(by.autocomplete!.p95 / by['autocomplete ILIKE']!.p95).toFixed(2)}×`);
  } finally {
    await pool.close();
    await app.service.stop().catch(() => undefined);
    if (KEEP) console.log(`catalog-search: kept ${schema} for the next BENCH_KEEP=1 run`);
    else await owner.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await owner.close();
  }
}
