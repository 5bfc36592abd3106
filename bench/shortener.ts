/**
 * `npm run bench -- shortener`: the shortener's redirect at a fixed offered
 * rate (BENCH_RATE, default 1,000 req/s) for BENCH_SECONDS (default 120)
 * over BENCH_LINKS links (default 10,000) picked on a Zipf mix (s = 1: a
 * few hot codes, a long tail), against a bare node:http server answering
 * the same 302 in the same run (the floor of any Node redirect). Both run as
 * child processes; autocannon (this process) offers the rate over 64
 * connections (closed loop per connection: latency is per request, not
 * corrected for coordinated omission). Prints p50/p99, the rate reached,
 * errors, the link cache's hit ratio and the ratio to the baseline; then the
 * EXPLAIN (ANALYZE, BUFFERS) of the shortener's queries (apps/shortener/README.md).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
// @ts-expect-error autocannon ships no types and @types/autocannon is not installed
import autocannon from 'autocannon';
import { createPool, DEV_ROLE_PASSWORD, ensureDbRoles, migrate, urlForRole, DB_ROLES, withSystemContext, withTenant } from '@bulwark/db';
import { freePort, silent, waitFor } from '@bulwark/test-support';
import { MIGRATIONS_DIR } from '../apps/shortener/src/app.ts';
import { ensureInfra } from '../scripts/infra/index.ts';
import { zipfPicker } from './lib/zipf.ts';

const RATE = Number(process.env.BENCH_RATE ?? 1000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 120);
const LINKS = Number(process.env.BENCH_LINKS ?? 10_000);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);
const TENANT = 'bench-tenant';
const code = (i: number) => `b${i.toString(36).padStart(6, '0')}`;

if (process.env.BENCH_BARE_SERVER) {
  const { createServer } = await import('node:http');
  const server = createServer((_req, res) => {
    res.writeHead(302, { location: 'https://example.com/landing?campaign=bench', 'cache-control': 'no-store' });
    res.end();
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => process.stdout.write(`PORT ${(server.address() as { port: number }).port}\n`));
}

function startChild(args: string[], env: Record<string, string>, portLine: RegExp): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['--conditions=bulwark-source', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.once('exit', (c) => reject(new Error(`${args.join(' ')} exited with ${c}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const m = portLine.exec(line);
      if (m) resolve({ child, port: Number(m[1]) });
    });
  });
}

interface Result {
  target: string;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

async function drive(target: string, base: string): Promise<Result> {
  const pick = zipfPicker(LINKS);
  const r = await autocannon({
    url: base,
    connections: CONNECTIONS,
    overallRate: RATE,
    duration: SECONDS,
    requests: [{ method: 'GET', setupRequest: (req: { path: string }) => ({ ...req, path: `/r/${code(pick())}` }) }],
  });
  const bad = r.errors + r.timeouts + (r['1xx'] ?? 0) + (r['2xx'] ?? 0) + (r['4xx'] ?? 0) + (r['5xx'] ?? 0);
  return { target, rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: bad };
}

export default async function bench(): Promise<void> {
  const env = await ensureInfra(['postgres', 'redis']);
  const ownerUrl = env.BULWARK_PG_URL!;
  await ensureDbRoles({ ownerUrl, password: DEV_ROLE_PASSWORD });
  const schema = `bench_shortener_${Date.now().toString(36)}`;
  const owner = createPool({ connectionString: ownerUrl, name: 'bench-shortener-owner', max: 2, registry: new Registry(), log: silent, searchPath: [schema] });
  const children: ChildProcess[] = [];
  try {
    await owner.query(`CREATE SCHEMA "${schema}"`);
    await migrate({ pool: owner, dir: MIGRATIONS_DIR, schema, phase: 'all' });
    for (let i = 0; i < LINKS; i += 1000) {
      const codes = Array.from({ length: Math.min(1000, LINKS - i) }, (_, j) => code(i + j));
      await withTenant(TENANT, () => owner.query("INSERT INTO links (code, target_url, owner_sub) SELECT c, 'https://example.com/landing?campaign=bench', 'bench-user' FROM unnest($1::text[]) c", [codes]));
    }
    await owner.query('ANALYZE links');
    const runtimeUrl = urlForRole(ownerUrl, DB_ROLES.runtime, DEV_ROLE_PASSWORD);
    const port = await freePort();
    const shortener = {
      port,
      child: spawn(process.execPath, ['--conditions=bulwark-source', fileURLToPath(new URL('../apps/shortener/src/main.ts', import.meta.url))], {
        env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', DATABASE_URL: runtimeUrl, MIGRATION_DATABASE_URL: ownerUrl, SHORTENER_SCHEMA: schema, REDIS_URL: env.BULWARK_REDIS_URL! },
        stdio: ['ignore', 'inherit', 'inherit'],
      }),
    };
    children.push(shortener.child);
    const bare = await startChild([fileURLToPath(import.meta.url)], { BENCH_BARE_SERVER: '1' }, /^PORT (\d+)$/);
    children.push(bare.child);
    const shortUrl = `http://127.0.0.1:${shortener.port}`;
    await waitFor(async () => (await fetch(`${shortUrl}/readyz`).catch(() => undefined))?.ok === true, 'the shortener ready', 60_000, 100);
    console.log(`shortener bench: ${LINKS} links, Zipf s=1, offered ${RATE} req/s for ${SECONDS} s over ${CONNECTIONS} connections; baseline: bare node:http 302, same rate, same run`);
    const results = [await drive('bare node:http 302', `http://127.0.0.1:${bare.port}`), await drive('shortener GET /r/:code', shortUrl)];
    console.table(results.map((r) => ({ target: r.target, 'req/s': Math.round(r.rps), 'p50 ms': r.p50, 'p99 ms': r.p99, 'not 302 / errors': r.errors })));
    const metrics = await (await fetch(`${shortUrl}/metrics`)).text();
    const sumOf = (name: string, tier: string) => metrics.split('\n').filter((l) => l.startsWith(`${name}{`) && l.includes(`tier="${tier}"`)).reduce((n, l) => n + Number(l.split(' ').at(-1)), 0);
    const l1 = sumOf('cache_hits_total', 'l1');
    const l2 = sumOf('cache_hits_total', 'l2');
    const miss = sumOf('cache_misses_total', 'l2');
    console.log(`link cache: L1 hits ${l1}, L2 hits ${l2}, database reads ${miss} (hit ratio ${((l1 + l2) / Math.max(1, l1 + l2 + miss)).toFixed(4)})`);
    console.log(`p99 shortener / bare = ${(results[1]!.p99 / Math.max(0.001, results[0]!.p99)).toFixed(2)}× (target: p99 < 50 ms at ${RATE} req/s)`);
    await explainQueries(owner);
  } finally {
    // Stopped before the schema goes: the shortener writes its last clicks on SIGTERM.
    await Promise.all(children.map((c) => (c.exitCode !== null ? undefined : new Promise((resolve) => c.once('exit', resolve).kill('SIGTERM')))));
    await owner.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
    await owner.close();
  }
}

async function explainQueries(owner: ReturnType<typeof createPool>): Promise<void> {
  const plans: [string, string, unknown[]][] = [
    ['redirect: the link behind a code (system context)', 'SELECT tenant_id, target_url, redirect_status, expires_at FROM links WHERE code = $1', [code(42)]],
    ["listing: a user's links, newest first (tenant context)", "SELECT code FROM links WHERE tenant_id = current_setting('bulwark.tenant', true) AND owner_sub = $1 ORDER BY created_at DESC, code DESC LIMIT 21", ['bench-user']],
  ];
  for (const [title, sql, values] of plans) {
    const explain = `EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF, SUMMARY OFF) ${sql}`;
    const run = () => owner.query<{ 'QUERY PLAN': string }>(explain, values);
    const { rows } = title.startsWith('redirect') ? await withSystemContext(owner, 'bench.explain', run) : await withTenant(TENANT, run);
    console.log(`\n${title}\n${rows.map((r) => `  ${r['QUERY PLAN']}`).join('\n')}`);
  }
}
