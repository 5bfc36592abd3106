/**
 * Database credentials that change while the service runs (the operator's
 * DatabaseCredential rotation: two login roles `<svc>_a`/`<svc>_b` taking
 * turns). The source is a file (a mounted Kubernetes Secret key, or one
 * under .local) holding {"username": …, "password": …} of the role to use
 * now. Every new connection reads it: the user when the client is built,
 * the password through pg's async `password` callback when the server asks
 * for it. A password is always the one for the user the client was built
 * with, even if the file flipped to the other role in between (the old
 * role's password stays valid until the next rotation). Connections already
 * open are never touched: PostgreSQL keeps a session when its role's
 * password changes.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type pg from 'pg';

export interface DbCredentials {
  /** The role new connections log in as now. */
  currentUser(): string;
  /** The latest known password of `user`. */
  passwordFor(user: string): Promise<string>;
}

interface CredentialFile {
  username: string;
  password: string;
}

function parseCredentials(text: string, path: string): CredentialFile {
  const raw = JSON.parse(text) as Partial<CredentialFile>;
  if (typeof raw.username !== 'string' || raw.username === '' || typeof raw.password !== 'string') throw new Error(`${path}: expected {"username": string, "password": string}`);
  return { username: raw.username, password: raw.password };
}

/** Credentials read from `path` on every new connection; a read that fails keeps the last good one. */
export function fileCredentials(path: string): DbCredentials {
  const known = new Map<string, string>();
  const first = parseCredentials(readFileSync(path, 'utf8'), path);
  known.set(first.username, first.password);
  let current = first.username;
  const remember = (c: CredentialFile) => {
    known.set(c.username, c.password);
    current = c.username;
  };
  return {
    currentUser() {
      try {
        remember(parseCredentials(readFileSync(path, 'utf8'), path));
      } catch {
        // A Secret volume swaps its files atomically; a torn or missing read keeps the last good credentials.
      }
      return current;
    },
    async passwordFor(user) {
      try {
        remember(parseCredentials(await readFile(path, 'utf8'), path));
      } catch {
        // as above
      }
      const password = known.get(user);
      if (password === undefined) throw new Error(`no password known for database role ${user}`);
      return password;
    },
  };
}

/** Makes a freshly built client log in with `credentials` instead of its URL's user and password. */
export function bindCredentials(client: pg.Client, credentials: DbCredentials): void {
  const user = credentials.currentUser();
  const target = client as unknown as { user: string; password: unknown; connectionParameters: { user: string } };
  target.user = user;
  target.connectionParameters.user = user;
  target.password = (params: { user: string }) => credentials.passwordFor(params.user);
}
