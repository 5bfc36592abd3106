/**
 * `npm run migrate -- <app> <step> [options]`: the zero-downtime steps of an
 * app's changes (packages/db, "Zero-downtime changes").
 *
 *   status     each change's state, backfill progress and next step; live instances
 *   expand     additive DDL + dual-write triggers of every pending change
 *   backfill   copies old rows into the new shape in throttled batches; resumes a paused or killed run
 *   pause      asks a running backfill to stop after its current batch
 *   verify     counts rows where old and new shapes disagree (0 needed)
 *   contract   drops the old shape; refused while an instance needing it heartbeats
 *   rollback   undoes the last step of the latest change; refuses contract (one-way)
 *
 * Options: --change <version> (one change only), --changes <module> (default
 * apps/<app>/migrations/zero-downtime.ts, exporting `changes`), --schema
 * (default <app>), --url (default MIGRATION_DATABASE_URL, else the local
 * PostgreSQL), --batch-size (1000), --pause-ms (50). Exit 0 done, 1 failed,
 * 2 usage, 3 refused (the refusal's code and reason on stderr).
 */
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Registry } from 'prom-client';
import { createPool, ZeroDowntimeError, zeroDowntime, type ZeroDowntimeChange } from '@bulwark/db';
import { silent } from '@bulwark/test-support';
import { ensureInfra, repoRoot } from './infra/index.ts';

const STEPS = ['status', 'expand', 'backfill', 'pause', 'verify', 'contract', 'rollback'] as const;
type Step = (typeof STEPS)[number];

function usage(message: string): never {
  console.error(`${message}\nusage: npm run migrate -- <app> <${STEPS.join('|')}> [--change N] [--changes module.ts] [--schema s] [--url postgres://…] [--batch-size N] [--pause-ms N]`);
  process.exit(2);
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      change: { type: 'string' },
      changes: { type: 'string' },
      schema: { type: 'string' },
      url: { type: 'string' },
      'batch-size': { type: 'string' },
      'pause-ms': { type: 'string' },
    },
  });
  const [app, step] = positionals;
  if (!app || !/^[a-z][a-z0-9-]*$/.test(app)) usage('name the app');
  if (!step || !STEPS.includes(step as Step)) usage(`unknown step ${JSON.stringify(step ?? '')}`);
  const modulePath = values.changes ? (isAbsolute(values.changes) ? values.changes : resolve(process.cwd(), values.changes)) : resolve(repoRoot, 'apps', app, 'migrations', 'zero-downtime.ts');
  if (!existsSync(modulePath)) usage(`${modulePath} does not exist: ${app} has no zero-downtime changes (a module exporting \`changes\`)`);
  const { changes } = (await import(pathToFileURL(modulePath).href)) as { changes?: ZeroDowntimeChange[] };
  if (!Array.isArray(changes)) usage(`${modulePath} does not export \`changes\``);
  const number = (v: string | undefined, name: string) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) usage(`--${name} must be a whole number`);
    return n;
  };
  const url = values.url ?? process.env.MIGRATION_DATABASE_URL ?? (await ensureInfra(['postgres'])).BULWARK_PG_URL!;
  const schema = values.schema ?? app.replaceAll('-', '_');
  const pool = createPool({ connectionString: url, name: `migrate-${app}`, max: 3, searchPath: [schema], registry: new Registry(), log: silent, tracking: false, leakThresholdMs: 0 }); // a backfill holds its connection for minutes on purpose
  const target = { pool, schema, changes };
  const version = number(values.change, 'change');
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  process.once('SIGTERM', () => controller.abort());
  try {
    switch (step as Step) {
      case 'status': {
        for (const s of await zeroDowntime.changeStatus(target)) {
          const progress = s.batches > 0 ? `  ${s.rowsDone} rows in ${s.batches} batches, cursor ${s.cursor}${s.paused ? ' (paused)' : ''}` : '';
          console.log(`${s.id}  ${s.state.padEnd(11)}  next: ${(s.next ?? '-').padEnd(8)}  ${s.compatibleWithPrevious ? 'compatible with previous release' : 'NOT compatible with previous release'}${progress}`);
        }
        const live = await zeroDowntime.liveInstances(target);
        console.log(live.length === 0 ? 'no live instances' : `live instances: ${live.map((i) => `${i.app}/${i.instanceId} v${i.schemaVersion}`).join(', ')}`);
        break;
      }
      case 'expand':
        console.log(`expanded: ${(await zeroDowntime.expand({ ...target }, { version })).join(', ') || 'nothing pending'}`);
        break;
      case 'backfill': {
        const results = await zeroDowntime.backfill(target, {
          version,
          batchSize: number(values['batch-size'], 'batch-size'),
          pauseMs: number(values['pause-ms'], 'pause-ms'),
          signal: controller.signal,
          onBatch: (p) => {
            if (p.batches % 100 === 0) console.log(`${p.change}: ${p.rowsDone} rows, cursor ${p.cursor}`);
          },
        });
        for (const r of results) console.log(`${r.change}: ${r.outcome} after ${r.rowsDone} rows in ${r.batches} batches${r.resumedFrom === null ? '' : ` (resumed after key ${r.resumedFrom})`}`);
        if (results.length === 0) console.log('nothing to backfill');
        break;
      }
      case 'pause':
        console.log(`pause requested: ${(await zeroDowntime.pauseBackfill(target, { version })).join(', ') || 'no backfill to pause'}`);
        break;
      case 'verify':
        for (const r of await zeroDowntime.verify(target, { version })) console.log(`${r.change}: old and new shapes agree`);
        break;
      case 'contract':
        console.log(`contracted: ${(await zeroDowntime.contract(target, { version })).join(', ') || 'nothing verified to contract'}`);
        break;
      case 'rollback': {
        const r = await zeroDowntime.rollback(target, { version });
        console.log(`${r.change}: rolled back from ${r.from} to ${r.to}`);
        break;
      }
    }
  } catch (err) {
    if (err instanceof ZeroDowntimeError) {
      console.error(`refused (${err.code}): ${err.message}`);
      process.exitCode = 3;
    } else {
      console.error(err);
      process.exitCode = 1;
    }
  } finally {
    await pool.close();
  }
}

await main();
