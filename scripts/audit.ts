/**
 * `npm run audit -- verify`: the audit log verifier (apps/audit/src/cli)
 * against the local PostgreSQL, started or reused like every script here,
 * unless AUDIT_DATABASE_URL or --database-url names another.
 */
import { spawnSync } from 'node:child_process';
import { ensureInfra } from './infra/index.ts';

const args = process.argv.slice(2);
const env = { ...process.env };
if (!env.AUDIT_DATABASE_URL && !args.includes('--database-url')) Object.assign(env, await ensureInfra(['postgres']));
const cli = new URL('../apps/audit/src/cli/audit.ts', import.meta.url).pathname;
const run = spawnSync(process.execPath, ['--conditions=bulwark-source', cli, ...args], { stdio: 'inherit', env });
process.exitCode = run.status ?? 1;
