import { afterAll, describe, expect, it } from '@jest/globals';
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort } from '@bulwark/test-support';
import { ensureInfra } from '../infra/index.ts';
import { repoRoot } from '../infra/settings.ts';
import { runJourney, type Step } from '../journey.ts';

// What a new user does (issue 25): a real `git clone`, `npm run up` in it, the journey through the
// gateway only, `npm run down`. Honest about what it skips: the clone shares this checkout's
// installed node_modules (the root one and each workspace's own) and Node (ensure-deps sees the same lock and installs nothing, as it would
// after a first install) and the running PostgreSQL, Redis, Kafka, Prometheus and mail sink (as
// `up` reuses servers that answer). Everything else is the clone's own: its scripts, its apps on
// moved ports (BULWARK_APP_PORT_OFFSET), its generated secrets, a database of its own on the
// shared PostgreSQL (its own relay slot) and its own Redis prefixes, so a developer's running `up`
// is not disturbed and does not disturb it.

const run = (cwd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ code: number | null; output: string }> =>
  new Promise((resolve) => {
    const child = spawn('npm', args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });

/** An offset that moves the apps' ports (8080 up to the highest any app declares) to a free stretch below the ephemeral range. */
async function freeOffset(): Promise<number> {
  const declared = fs.readdirSync(path.join(repoRoot, 'apps')).map((app) => {
    const file = path.join(repoRoot, 'apps', app, 'package.json');
    return fs.existsSync(file) ? Number((JSON.parse(fs.readFileSync(file, 'utf8')) as { bulwark?: { port?: number } }).bulwark?.port ?? 0) : 0;
  });
  const span = Math.max(...declared) - 8_080;
  const port = await freePort(); // 20000–32767, free now
  return Math.min(port, 32_767 - span) - 8_080;
}

describe('first run of a fresh clone', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bulwark-first-run-'));
  const clone = path.join(dir, 'bulwark');
  const id = randomUUID().replaceAll('-', '').slice(0, 10);
  const database = `first_run_${id}`;
  let env: NodeJS.ProcessEnv = {};
  let started = false;

  afterAll(async () => {
    if (started) {
      const down = await run(clone, ['run', 'down'], env, 120_000);
      if (down.code !== 0) console.warn(`npm run down in the clone: ${down.output.slice(-2000)}`);
    }
    const admin = new pg.Client({ connectionString: process.env.BULWARK_PG_URL });
    await admin.connect();
    await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`, [database]);
    await admin.query(`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1 AND NOT active`, [database]).catch(() => undefined);
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
    fs.rmSync(dir, { recursive: true, force: true });
  }, 180_000);

  it('when a new user clones, runs npm run up and takes the journey through the gateway, then every step answers as it should', async () => {
    execFileSync('git', ['clone', '--quiet', repoRoot, clone]);
    fs.symlinkSync(path.join(repoRoot, 'node_modules'), path.join(clone, 'node_modules'));
    // npm installs a workspace's own version of a package beside it when the hoisted one does not fit (apps/edge's lru-cache 11 vs 5 at the root).
    for (const group of ['apps', 'packages', 'operators']) {
      for (const name of fs.readdirSync(path.join(repoRoot, group))) {
        const nested = path.join(repoRoot, group, name, 'node_modules');
        if (fs.existsSync(nested) && fs.existsSync(path.join(clone, group, name))) fs.symlinkSync(nested, path.join(clone, group, name, 'node_modules'));
      }
    }
    fs.mkdirSync(path.join(clone, '.local'));
    if (fs.existsSync(path.join(repoRoot, '.local', 'node'))) fs.symlinkSync(path.join(repoRoot, '.local', 'node'), path.join(clone, '.local', 'node'));

    const infra = await ensureInfra(['postgres', 'redis', 'kafka', 'prometheus', 'mail']);
    const admin = new pg.Client({ connectionString: infra.BULWARK_PG_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    await admin.end();
    const pgUrl = new URL(infra.BULWARK_PG_URL!);
    pgUrl.pathname = `/${database}`;
    const offset = await freeOffset();
    env = {
      ...process.env,
      ...infra,
      BULWARK_PG_URL: pgUrl.toString(),
      BULWARK_APP_PORT_OFFSET: String(offset),
      RELAY_SLOT: `orders_relay_${id}`,
      // Redis is shared too: the clone's queues and limits get their own prefixes, or a running `up`'s
      // notifications worker would take the clone's mail jobs (and look for them in its own database).
      JOBS_PREFIX: `first-run-${id}`,
      RATE_LIMIT_PREFIX: `rl:first-run-${id}`,
    };

    started = true;
    const up = await run(clone, ['run', 'up'], env, 300_000);
    expect({ code: up.code, tail: up.code === 0 ? '' : up.output.slice(-4000) }).toEqual({ code: 0, tail: '' });
    expect(up.output).toMatch(/demo data \(seeded once\)/);

    const steps: Step[] = [];
    const urls = { gateway: `http://127.0.0.1:${8080 + offset}`, inventory: `http://127.0.0.1:${8084 + offset}`, mail: infra.BULWARK_MAIL_URL! };
    const result = await runJourney(urls, (s) => steps.push(s)).catch((err: unknown) => {
      throw new Error(`${String(err)}\nsteps so far:\n${steps.map((s) => `${s.status} ${s.method} ${s.path} (${s.name})`).join('\n')}`);
    });
    expect(steps.map((s) => s.name)).toEqual(expect.arrayContaining(['register', 'verify the email', 'log in', 'a guest opens a cart', 'the guest adds the variant', 'search the catalog', 'the product', "merge the guest's cart at login", 'add the variant to the cart', 'check out the cart (Idempotency-Key)', 'checkout finished', 'order confirmed in the read model', 'the admin ships the order', 'review the product', 'the product shows its rating']));
    expect(result.orderId).toBeTruthy();
    // Nothing of the journey reached a service but through the gateway: the clone's gateway saw it.
    const gatewayLog = fs.readFileSync(path.join(clone, '.local', 'services', 'gateway.log'), 'utf8');
    expect(gatewayLog).toContain(`/v1/orders/${result.orderId}/checkout`);
    expect(gatewayLog).toContain('/v1/products/search');
    expect(gatewayLog).toMatch(/\/v1\/carts\/[0-9a-f-]{36}\/checkout/);
  }, 600_000);
});
