/**
 * Test support: real upstream HTTP servers on port 0 that record what reached
 * them, a real JWKS server with jose-generated keys (rotatable), the gateway
 * built in-process on port 0 from a routes object; the shared Redis's URL,
 * prefix cleanup and private redis-servers for fault injection are
 * test-support's.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { startHttpServer } from '@bulwark/test-support';
import { createGateway, type Gateway } from '../src/app.ts';
import { loadGatewayConfig } from '../src/config.ts';
import { validateRoutesFile } from '../src/domain/routes-file.ts';

export { deletePrefix, RedisProcess, redisUrl } from '@bulwark/test-support';

export interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface Upstream {
  url: string;
  seen: Seen[];
  server: Server;
  close(): Promise<void>;
}

export type UpstreamHandler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;

/** Echoes method, url, headers and body size as JSON unless a handler is given. Records every request. */
export async function startUpstream(handler?: UpstreamHandler, options: { readBody?: boolean } = {}): Promise<Upstream> {
  const seen: Seen[] = [];
  const http = await startHttpServer((req, res) => {
    const record = (body: Buffer): void => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      if (handler) return handler(req, res, body);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, bodyBytes: body.length }));
    };
    if (options.readBody === false) return record(Buffer.alloc(0));
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => record(Buffer.concat(chunks)));
  });
  http.server.keepAliveTimeout = 60_000;
  return { ...http, seen };
}

export interface Issuer {
  jwksUrl: string;
  /** Signs with the current key. */
  sign(claims: Record<string, unknown>, options?: { expiresIn?: string | number; alg?: string }): Promise<string>;
  /** Generates a new key (new kid) and publishes only it. */
  rotate(): Promise<void>;
  publicJwk: JWK;
  close(): Promise<void>;
}

export async function startIssuer(alg: 'RS256' | 'ES256' | 'EdDSA' = 'ES256'): Promise<Issuer> {
  let key: { privateKey: CryptoKey; publicKey: CryptoKey; kid: string; jwk: JWK };
  const make = async () => {
    const pair = await generateKeyPair(alg, { extractable: true });
    const kid = randomUUID();
    const jwk = { ...(await exportJWK(pair.publicKey)), kid, alg, use: 'sig' };
    return { ...pair, kid, jwk };
  };
  key = await make();
  const http = await startHttpServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: [key.jwk] }));
  });
  return {
    jwksUrl: `${http.url}/.well-known/jwks.json`,
    get publicJwk() {
      return key.jwk;
    },
    async sign(claims, options = {}) {
      return new SignJWT(claims)
        .setProtectedHeader({ alg, kid: key.kid, typ: 'JWT' })
        .setIssuedAt()
        .setExpirationTime(options.expiresIn ?? '5m')
        .sign(key.privateKey);
    },
    async rotate() {
      key = await make();
    },
    close: http.close,
  };
}

export interface TestGateway {
  url: string;
  port: number;
  gateway: Gateway;
  logs: Record<string, unknown>[];
  stop(): Promise<void>;
}

/** Builds and starts the gateway in-process on port 0 from a routes object (validated like the file). */
export async function startGateway(routes: unknown, env: Record<string, string> = {}): Promise<TestGateway> {
  const logs: Record<string, unknown>[] = [];
  const config = loadGatewayConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', RATE_LIMIT_PREFIX: `gwtest-${randomUUID()}`, ...env });
  const gateway = createGateway({ config, routes: validateRoutesFile(routes), logDestination: { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) } });
  const { url, port } = await gateway.start();
  return { url, port, gateway, logs, stop: () => gateway.stop() };
}
