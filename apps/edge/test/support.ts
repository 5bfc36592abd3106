/**
 * The edge under test: a real origin (an HTTP server whose answers each
 * test scripts per path, counting what reached it) and the edge app in
 * process in front of it, with a JWKS issuer for service tokens.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { request } from 'undici';
import { startHttpServer, type HttpServer } from '@bulwark/test-support';
import { startIssuer, type Issuer } from '../../gateway/test/support.ts';
import { createEdgeApp, type EdgeApp } from '../src/app.ts';
import { loadEdgeConfig } from '../src/config.ts';

export const ISSUER = 'http://issuer.edge.test';

export type OriginRoute = (req: IncomingMessage, res: ServerResponse) => void;

export interface Origin {
  url: string;
  /** Requests that reached the origin, per path (query included). */
  seen: IncomingMessage[];
  count(path: string): number;
  route(path: string, handler: OriginRoute): void;
  close(): Promise<void>;
}

export async function startOrigin(): Promise<Origin & { server: HttpServer }> {
  const routes = new Map<string, OriginRoute>();
  const seen: IncomingMessage[] = [];
  const server = await startHttpServer((req, res) => {
    seen.push(req);
    const path = (req.url ?? '/').split('?')[0]!;
    const handler = routes.get(path);
    if (!handler) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      return void res.end('no route');
    }
    handler(req, res);
  });
  return {
    url: server.url,
    server,
    seen,
    count: (path) => seen.filter((r) => (r.url ?? '').split('?')[0] === path).length,
    route: (path, handler) => void routes.set(path, handler),
    close: () => server.close(),
  };
}

export interface TestEdge {
  app: EdgeApp;
  url: string;
  issuer: Issuer;
  serviceToken(clientId?: string): Promise<string>;
  get(path: string, headers?: Record<string, string>, method?: 'GET' | 'HEAD'): Promise<{ status: number; headers: Record<string, string>; body: Buffer }>;
  stop(): Promise<void>;
}

export async function startEdge(originUrl: string, env: Record<string, string> = {}): Promise<TestEdge> {
  const issuer = await startIssuer();
  const config = loadEdgeConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', ORIGIN_URL: originUrl, ORIGIN_TIMEOUT_MS: '5000', JWKS_URL: issuer.jwksUrl, JWT_ISSUER: ISSUER, ...env });
  const app = createEdgeApp({ config });
  const { url } = await app.start();
  return {
    app,
    url,
    issuer,
    serviceToken: (clientId = 'content') => issuer.sign({ sub: clientId, client_id: clientId, roles: ['service'], iss: ISSUER, aud: 'bulwark' }),
    async get(path, headers = {}, method = 'GET') {
      const res = await request(`${url}${path}`, { method, headers });
      const body = Buffer.from(await res.body.arrayBuffer());
      const flat: Record<string, string> = {};
      for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) flat[k] = Array.isArray(v) ? v.join(', ') : v;
      return { status: res.statusCode, headers: flat, body };
    },
    async stop() {
      await app.service.stop();
      await issuer.close();
    },
  };
}
