/**
 * `npm run audit -- verify [--database-url URL] [--schema audit] [--public-key FILE ...]`:
 * verifies the log straight from PostgreSQL, without the service. Trusts
 * only the public key files given (default: the dev key's public half,
 * .local/audit/signing-key.pub.pem), never a key stored in the database.
 * The database URL: --database-url, else AUDIT_DATABASE_URL, else
 * BULWARK_PG_URL (scripts/audit.ts fills it from the local infrastructure);
 * key files: --public-key, else AUDIT_PUBLIC_KEY_FILES.
 * Exit 0: the log is intact; 1: the first bad entry is printed; 2: usage, no key file or no log.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { loadAuditVerifyConfig } from '../config.ts';
import { verifierKey } from '../domain/signing-key.ts';
import { verifyLog, type VerifyResult } from '../domain/verify-log.ts';
import { allTreeHeads, entriesPage } from '../store/log-store.ts';

export interface VerifyOptions {
  databaseUrl: string;
  schema: string;
  publicKeyPems: readonly string[];
}

/** Reads the log through one connection in the system context (row-level security would hide other tenants' rows). */
export async function verifyDatabase(options: VerifyOptions): Promise<VerifyResult> {
  const client = new pg.Client({ connectionString: options.databaseUrl });
  await client.connect();
  try {
    await client.query('SELECT set_config($1, $2, false), set_config($3, $4, false)', ['search_path', pg.escapeIdentifier(options.schema), 'bulwark.system', 'on']);
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const result = await verifyLog({ page: (after, limit) => entriesPage(client, after, limit), treeHeads: await allTreeHeads(client), keys: options.publicKeyPems.map(verifierKey) });
    await client.query('COMMIT');
    return result;
  } finally {
    await client.end();
  }
}

const USAGE = 'usage: npm run audit -- verify [--database-url URL] [--schema audit] [--public-key FILE ...]';

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { 'database-url': { type: 'string' }, schema: { type: 'string', default: 'audit' }, 'public-key': { type: 'string', multiple: true }, json: { type: 'boolean', default: false } },
  });
  if (positionals[0] !== 'verify') {
    console.error(USAGE);
    return 2;
  }
  const env = loadAuditVerifyConfig();
  const databaseUrl = values['database-url'] ?? env.AUDIT_DATABASE_URL ?? env.BULWARK_PG_URL;
  if (!databaseUrl) {
    console.error(`no database: pass --database-url or set AUDIT_DATABASE_URL\n${USAGE}`);
    return 2;
  }
  const keyFiles = values['public-key'] ?? env.AUDIT_PUBLIC_KEY_FILES;
  const missing = keyFiles.filter((f) => !existsSync(f));
  if (missing.length > 0) {
    console.error(`no public key at ${missing.join(', ')}: pass the log's public key with --public-key (locally it is written beside .local/audit/signing-key.pem when audit first starts)`);
    return 2;
  }
  const started = performance.now();
  let result: VerifyResult;
  try {
    result = await verifyDatabase({ databaseUrl, schema: values.schema, publicKeyPems: keyFiles.map((f) => readFileSync(f, 'utf8')) });
  } catch (err) {
    if ((err as { code?: string }).code !== '42P01') throw err;
    console.error(`no audit log in schema ${values.schema} (has audit started against this database?)`);
    return 2;
  }
  const ms = Math.round(performance.now() - started);
  if (values.json) console.log(JSON.stringify({ ...result, ms }));
  else if (result.ok) console.log(`audit log intact: ${result.entries} entries, ${result.treeHeads} signed tree heads, root ${result.rootHash} (${ms} ms)`);
  else console.log(`audit log TAMPERED: first bad entry ${result.firstBadSeq} (${result.finding}): ${result.detail}; ${result.entries} entries before it verified`);
  return result.ok ? 0 : 1;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await main(process.argv.slice(2));
}
