/**
 * Test helpers: the real identity service on port 0 against the PostgreSQL
 * and Redis from Jest global setup, each test file in its own schema and
 * rate-limit key prefix (random suffix), removed at cleanup.
 *
 * The mail seam: a real HTTP server stands in for the notifications service
 * at NOTIFICATIONS_URL and keeps every message identity posts to
 * /v1/tenants/:tenantId/messages (the same request notifications takes), so
 * tests read the verification and reset tokens from what was "emailed".
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import { Registry } from 'prom-client';
import { createPool, type DbPool } from '@bulwark/db';
import { loadConfig } from '@bulwark/service-kit';
import { call, deletePrefix, pgUrl, redisUrl, runtimeDbUrl, silent, startHttpServer, suffix, waitFor, type Reply } from '@bulwark/test-support';
import { guardNPlusOne } from '@bulwark/test-support/n-plus-one';
import { createIdentityApp, type IdentityApp } from '../src/app.ts';
import { identityConfigSchema } from '../src/config.ts';

// Every test that imports this file fails on N+1 queries in a request or job (@bulwark/test-support/n-plus-one).
guardNPlusOne();

export { call, PROBLEM, suffix, waitFor, type Reply } from '@bulwark/test-support';

export const PASSWORD = 'violet-harbour-lamp-42';
export const TENANT = 'acme';

const devNull = { write: () => true };

export interface SentMail {
  tenantId: string;
  to: string;
  kind: 'verify-email' | 'reset-password' | 'invitation';
  token: string;
  minutes: number;
  body: Record<string, unknown>;
}

/** The stand-in for notifications: a real HTTP server that answers 202 and keeps each message. */
export interface MailReceiver {
  url: string;
  mails: SentMail[];
  /** Waits for the next mail of `kind` to `to` that was not taken yet and returns it. */
  next(to: string, kind: SentMail['kind']): Promise<SentMail>;
  close(): Promise<void>;
}

export async function startMailReceiver(): Promise<MailReceiver> {
  const mails: SentMail[] = [];
  const taken = new Set<SentMail>();
  const http = await startHttpServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      const m = /^\/v1\/tenants\/([^/]+)\/messages$/.exec(req.url ?? '');
      if (req.method !== 'POST' || !m || req.headers['content-type'] !== 'application/json') {
        res.writeHead(404).end();
        return;
      }
      const body = JSON.parse(raw) as { channel: string; to: string; template: string; vars: { code: string; minutes: number }; idempotencyKey: string };
      const kind = /^identity:(verify-email|reset-password|invitation):/.exec(body.idempotencyKey)?.[1] as SentMail['kind'];
      mails.push({ tenantId: decodeURIComponent(m[1]!), to: body.to, kind, token: body.vars.code, minutes: body.vars.minutes, body });
      res.writeHead(202, { 'content-type': 'application/json' }).end(JSON.stringify({ id: randomUUID(), status: 'queued' }));
    });
  });
  return {
    url: http.url,
    mails,
    async next(to, kind) {
      let found: SentMail | undefined;
      await waitFor(() => (found = mails.find((m) => m.to === to && m.kind === kind && !taken.has(m))) !== undefined, `a ${kind} mail to ${to}`);
      taken.add(found!);
      return found!;
    },
    close: http.close,
  };
}

export interface TestIdentity {
  schema: string;
  /** Admin pool with search_path = the test schema. */
  db: DbPool;
  mail: MailReceiver;
  build(env?: Record<string, string>): IdentityApp;
  start(env?: Record<string, string>): Promise<{ app: IdentityApp; url: string }>;
  cleanup(): Promise<void>;
}

export async function setupIdentity(): Promise<TestIdentity> {
  const id = suffix();
  const schema = `identity_${id}`;
  const prefix = `rl:identity-test-${id}`;
  const db = createPool({ connectionString: pgUrl(), name: `identity_test_${id}`, max: 5, registry: new Registry(), log: silent, searchPath: [schema] });
  const runtimeUrl = await runtimeDbUrl(pgUrl());
  const mail = await startMailReceiver();
  const keyEncryptionKey = randomBytes(32).toString('hex');
  const apps: IdentityApp[] = [];
  const build = (extra: Record<string, string> = {}): IdentityApp => {
    const config = loadConfig(identityConfigSchema, {
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      DATABASE_URL: runtimeUrl,
      MIGRATION_DATABASE_URL: pgUrl(),
      REDIS_URL: redisUrl(),
      IDENTITY_SCHEMA: schema,
      RATE_LIMIT_PREFIX: prefix,
      KEY_ENCRYPTION_KEY: keyEncryptionKey,
      NOTIFICATIONS_URL: mail.url,
      TENANTS: `${TENANT}:Acme Inc,other:Other Ltd`,
      ADMIN_EMAILS: `${TENANT}:boss@acme.test`,
      SHUTDOWN_TIMEOUT_MS: '2000',
      DB_POOL_MAX: '10',
      ...extra,
    });
    const app = createIdentityApp({ config, logDestination: devNull as never });
    apps.push(app);
    return app;
  };
  return {
    schema,
    db,
    mail,
    build,
    async start(extra) {
      const app = build(extra);
      const { url } = await app.start();
      return { app, url };
    },
    async cleanup() {
      for (const app of apps.reverse()) await app.service.stop().catch(() => undefined);
      await mail.close();
      await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await db.close();
      await deletePrefix(redisUrl(), `${prefix}:`);
    },
  };
}

/** Registers, reads the verification mail, verifies: a ready-to-log-in account. */
export async function verifiedAccount(t: TestIdentity, url: string, email = `u-${suffix()}@example.test`, password = PASSWORD): Promise<{ email: string; password: string }> {
  const reg = await call(url, 'POST', '/v1/accounts', { tenant: TENANT, email, password });
  if (reg.status !== 202) throw new Error(`registration failed: ${reg.status} ${JSON.stringify(reg.body)}`);
  const mail = await t.mail.next(email, 'verify-email');
  const verified = await call(url, 'POST', '/v1/accounts/verify', { token: mail.token });
  if (verified.status !== 200) throw new Error(`verification failed: ${verified.status} ${JSON.stringify(verified.body)}`);
  return { email, password };
}

export async function login(url: string, email: string, password = PASSWORD, headers: Record<string, string> = {}): Promise<Reply> {
  return call(url, 'POST', '/v1/sessions', { tenant: TENANT, email, password }, headers);
}

/**
 * Verifies an access token exactly as the gateway does (apps/gateway
 * src/domain/authenticate.ts with its default config): a remote JWKS set
 * from identity's /.well-known/jwks.json, the gateway's algorithm allow-list,
 * issuer and audience, 5 s clock tolerance.
 */
export function gatewayVerifier(url: string, options: { cacheMaxAgeMs?: number; cooldownMs?: number } = {}) {
  const jwks = createRemoteJWKSet(new URL(`${url}/.well-known/jwks.json`), { cooldownDuration: options.cooldownMs ?? 30_000, cacheMaxAge: options.cacheMaxAgeMs ?? 600_000, timeoutDuration: 2000 });
  return async (token: string, currentDate?: Date): Promise<JWTPayload> => {
    const { payload } = await jwtVerify(token, jwks, {
      algorithms: ['RS256', 'ES256', 'EdDSA'],
      clockTolerance: 5,
      issuer: 'http://127.0.0.1:8081',
      audience: 'bulwark',
      ...(currentDate ? { currentDate } : {}),
    });
    return payload;
  };
}

/** The header of a JWT, decoded. */
export function jwtHeader(token: string): { alg: string; kid: string; typ: string } {
  return JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()) as { alg: string; kid: string; typ: string };
}

export const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });
