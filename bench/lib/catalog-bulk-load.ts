/**
 * Bulk load of the catalog's demo products for benches (1,000,000 in
 * minutes, where the service's seed writes a product per statement): the same
 * deterministic products as `demoProducts` (streamed from
 * `generateDemoProducts`, ids derived from the position), COPY'd as the tenant
 * (row-level security fills tenant_id) into a staging table, moved into
 * `products` with the search document the store writes, variants COPY'd
 * directly, the vocabulary counted in one statement; autocomplete's
 * product_suggest is filled by its trigger on products. Secondary indexes of
 * products, variants and product_suggest are dropped for the load and built once after it.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { Registry } from 'prom-client';
import { createPool } from '@bulwark/db';
import { silent } from '@bulwark/test-support';
import { termsOf } from '../../apps/catalog/src/domain/text.ts';
import { generateDemoProducts, seedDemoCatalog } from '../../apps/catalog/src/seed/demo-catalog.ts';

export interface BulkLoadResult {
  products: number;
  variants: number;
  /** Seconds per phase: copy (generate + COPY), search (documents), variants, indexes, analyze. */
  phases: Record<string, number>;
}

const csv = (v: string | number): string => (typeof v === 'number' ? String(v) : `"${v.replaceAll('"', '""')}"`);
const pgArray = (xs: readonly string[]): string => `{${xs.map((x) => `"${x.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`).join(',')}}`;
/** A deterministic product id: the position in the generated catalog. */
const productId = (i: number): string => `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;

async function copyRows(client: pg.Client, sql: string, rows: Iterable<string>): Promise<void> {
  async function* batched() {
    let chunk = '';
    for (const row of rows) {
      chunk += row;
      if (chunk.length >= 1 << 20) {
        yield chunk;
        chunk = '';
      }
    }
    if (chunk) yield chunk;
  }
  await pipeline(Readable.from(batched()), client.query(copyFrom(sql)));
}

/**
 * Loads `count` demo products into `tenant` in `schema` (already migrated, empty of products).
 * `ownerUrl` is the tables' owner.
 */
export async function bulkLoadDemoCatalog(options: { ownerUrl: string; schema: string; tenant: string; count: number; log?: (line: string) => void }): Promise<BulkLoadResult> {
  const { ownerUrl, schema, tenant, count } = options;
  const phases: Record<string, number> = {};
  let mark = performance.now();
  const phase = (name: string) => {
    const now = performance.now();
    phases[name] = (now - mark) / 1000;
    mark = now;
    options.log?.(`  ${name}: ${phases[name]!.toFixed(1)} s`);
  };

  // The category tree through the service's own seed (0 products).
  const owner = createPool({ connectionString: ownerUrl, name: 'bench-bulk-owner', max: 1, searchPath: [schema], registry: new Registry(), log: silent });
  try {
    await seedDemoCatalog(owner, tenant, 0);
  } finally {
    await owner.close();
  }

  const client = new pg.Client({ connectionString: ownerUrl });
  await client.connect();
  try {
    await client.query(`SET search_path TO "${schema}", public`);
    await client.query("SELECT set_config('bulwark.tenant', $1, false)", [tenant]);
    await client.query("SET maintenance_work_mem = '512MB'");
    await client.query('SET synchronous_commit = off');
    const { rows: indexes } = await client.query<{ name: string; def: string }>(
      `SELECT i.indexname AS name, i.indexdef AS def FROM pg_indexes i
        WHERE i.schemaname = $1 AND i.tablename IN ('products', 'variants', 'product_suggest')
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = format('%I.%I', i.schemaname, i.indexname)::regclass)`,
      [schema],
    );
    for (const index of indexes) await client.query(`DROP INDEX "${schema}"."${index.name}"`);

    await client.query(`CREATE TEMP TABLE products_stage (id uuid, slug text, name text, brand text, description text, category_slug text, tags text[], images text[], popularity integer, price_min bigint, price_max bigint) ON COMMIT PRESERVE ROWS`);
    await client.query('CREATE TEMP TABLE variants_stage (product_id uuid, sku text, attributes jsonb, price_minor bigint, currency text, position integer)');
    const df = new Map<string, number>();
    let variants = 0;
    const variantRows: string[] = [];
    function* productRows(): Generator<string> {
      let i = 0;
      for (const p of generateDemoProducts(count)) {
        const id = productId(i++);
        const prices = p.variants.map((v) => v.price.amount);
        for (const t of termsOf(p)) df.set(t, (df.get(t) ?? 0) + 1);
        p.variants.forEach((v, k) => {
          variantRows.push(`${[csv(id), csv(v.sku), csv(JSON.stringify(v.attributes)), csv(v.price.amount), csv(v.price.currency), csv(k + 1)].join(',')}\n`);
        });
        variants += p.variants.length;
        yield `${[csv(id), csv(p.slug), csv(p.name), csv(p.brand), csv(p.description), csv(p.category), csv(pgArray(p.tags)), csv(pgArray(p.images)), csv(p.popularity), csv(Math.min(...prices)), csv(Math.max(...prices))].join(',')}\n`;
      }
    }
    await copyRows(client, 'COPY products_stage FROM STDIN (FORMAT csv)', productRows());
    await copyRows(client, 'COPY variants_stage FROM STDIN (FORMAT csv)', variantRows.splice(0));
    phase('generate + COPY');

    // The search document exactly as catalog-store's SEARCH_DOCUMENT writes it.
    await client.query(`INSERT INTO products (id, slug, name, brand, description, category_slug, tags, images, popularity, price_min, price_max, search)
      SELECT id, slug, name, brand, description, category_slug, tags, images, popularity, price_min, price_max,
             setweight(to_tsvector('english', name), 'A') || setweight(to_tsvector('simple', brand), 'B') || setweight(to_tsvector('english', array_to_string(tags, ' ')), 'B') || setweight(to_tsvector('english', description), 'D')
        FROM products_stage`);
    phase('products + search documents');
    await client.query('INSERT INTO variants (product_id, sku, attributes, price_minor, currency, position) SELECT * FROM variants_stage');
    await client.query(
      `INSERT INTO search_terms (term, df) SELECT * FROM unnest($1::text[], $2::int[])
       ON CONFLICT (tenant_id, term) DO UPDATE SET df = search_terms.df + EXCLUDED.df`,
      [[...df.keys()], [...df.values()]],
    );
    await client.query('DROP TABLE products_stage, variants_stage');
    phase('variants + vocabulary');
    for (const index of indexes) await client.query(index.def);
    phase('indexes');
    await client.query('ANALYZE products, variants, search_terms, categories');
    // Autocomplete walks product_suggest index-only: that needs the visibility map a VACUUM sets.
    await client.query('VACUUM (ANALYZE) product_suggest');
    phase('analyze');
    return { products: count, variants, phases };
  } finally {
    await client.end();
  }
}
