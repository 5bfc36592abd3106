/**
 * The PostgreSQL side of a DatabaseCredential, through an admin connection
 * (a role with CREATEROLE): the NOLOGIN group role and the two login roles
 * in it, a new password for one of them, and a login check with it before
 * any Secret names it. Passwords are sent as SCRAM-SHA-256 verifiers
 * computed here, so the clear password never reaches the server (nor its
 * statement log).
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import pg from 'pg';

const ident = (s: string) => pg.escapeIdentifier(s);

/**
 * The SCRAM-SHA-256 verifier PostgreSQL stores for `password` (RFC 5802 /
 * RFC 7677, PostgreSQL's `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`);
 * `ALTER ROLE … PASSWORD '<verifier>'` stores it as it is. Passwords here
 * are ASCII (base64url), so SASLprep leaves them unchanged.
 */
export function scramVerifier(password: string, salt: Buffer = randomBytes(16), iterations = 4096): string {
  const salted = pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

/** 32 random bytes, base64url: 256 bits, no characters a URL or a shell would mangle. */
export function newPassword(): string {
  return randomBytes(32).toString('base64url');
}

async function withAdmin<T>(adminUrl: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 10_000, application_name: 'platform-operator' });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Creates what is missing: the group role (NOLOGIN) and both login roles
 * (LOGIN, INHERIT, members of the group; a random password nobody knows
 * until a rotation sets one). Idempotent; serialised by an advisory lock.
 */
export async function ensureRoles(adminUrl: string, group: string, logins: readonly string[]): Promise<void> {
  await withAdmin(adminUrl, async (c) => {
    await c.query('BEGIN');
    try {
      await c.query("SELECT pg_advisory_xact_lock(hashtext('bulwark.database-credentials'))");
      const exists = async (role: string) => ((await c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role])).rowCount ?? 0) > 0;
      if (!(await exists(group))) await c.query(`CREATE ROLE ${ident(group)} NOLOGIN`);
      for (const role of logins) {
        if (!(await exists(role))) await c.query(`CREATE ROLE ${ident(role)} LOGIN INHERIT NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB PASSWORD ${pg.escapeLiteral(scramVerifier(newPassword()))} IN ROLE ${ident(group)}`);
        else await c.query(`GRANT ${ident(group)} TO ${ident(role)}`);
      }
      await c.query('COMMIT');
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  });
}

export async function setPassword(adminUrl: string, role: string, password: string): Promise<void> {
  await withAdmin(adminUrl, (c) => c.query(`ALTER ROLE ${ident(role)} PASSWORD ${pg.escapeLiteral(scramVerifier(password))}`));
}

/** Logs in as `role` with `password` at the admin URL's server and database; throws if refused. */
export async function checkLogin(adminUrl: string, role: string, password: string): Promise<void> {
  const url = new URL(adminUrl);
  url.username = role;
  url.password = password;
  const client = new pg.Client({ connectionString: url.toString(), connectionTimeoutMillis: 10_000, application_name: 'platform-operator-check' });
  await client.connect();
  await client.end();
}
