/**
 * The peers the gateway bench holds the gateway against (bench/gateway.ts,
 * targets `peer` and `nginx`), built on the same upstream, token issuer and
 * Redis as the gateway's own targets.
 *
 * `peer`: a gateway as a Node team would build one, off the shelf: fastify
 * with its default request logging (pino, here to /dev/null),
 * `@fastify/http-proxy` (undici, keep-alive pool of 128 connections), JWT
 * verification with jose against the issuer's JWKS (role `orders` required),
 * and `@fastify/rate-limit` on Redis with the same three policies as the
 * gateway's `full` target (per tenant, per user, per IP; 1e9 per 60 s, so
 * none refuses). The plugin has one algorithm (fixed window in Redis): each
 * policy is one Redis round trip. No circuit breaker (the plugin set has none).
 * With `tokenCache` (target `peer+cache`) the peer keeps verified tokens in a
 * Map (token → principal and expiry, at most 10,000, emptied when full), as a
 * team would add once verification showed in a profile: the gateway keeps
 * verified tokens too, so this peer separates that cache from the rest of
 * the difference.
 *
 * `nginx`: Debian's nginx as a plain reverse proxy, one worker, upstream
 * keep-alive, access log written to /dev/null. For context, no target.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '@bulwark/test-support';

/** Starts the fastify peer on 127.0.0.1 and returns its port. */
export async function servePeerGateway(upstreamOrigin: string, jwksUrl: string, redisUrl: string, options: { tokenCache?: boolean } = {}): Promise<number> {
  const { default: Fastify } = await import('fastify');
  const { default: httpProxy } = await import('@fastify/http-proxy');
  const { default: rateLimit } = await import('@fastify/rate-limit');
  const { Redis } = await import('ioredis');
  const { createRemoteJWKSet, jwtVerify } = await import('jose');
  const { default: pino } = await import('pino');

  const app = Fastify({ loggerInstance: pino({ level: 'info' }, pino.destination('/dev/null')) });
  const redis = new Redis(redisUrl, { connectTimeout: 500, maxRetriesPerRequest: 1 });
  await app.register(rateLimit, { global: false, redis });
  const jwks = createRemoteJWKSet(new URL(jwksUrl));
  type Principal = { sub: string; tenant: string; roles: unknown };
  const verified = new Map<string, { principal: Principal; expiresAt: number }>();
  const verify = async (token: string): Promise<Principal> => {
    const hit = options.tokenCache ? verified.get(token) : undefined;
    if (hit !== undefined && hit.expiresAt > Date.now()) return hit.principal;
    const { payload } = await jwtVerify(token, jwks, { algorithms: ['ES256'] });
    const principal = { sub: String(payload.sub), tenant: String(payload.tenant), roles: payload.roles };
    if (options.tokenCache && payload.exp !== undefined) {
      if (verified.size >= 10_000) verified.clear();
      verified.set(token, { principal, expiresAt: payload.exp * 1000 });
    }
    return principal;
  };
  await app.register(async (scope) => {
    scope.decorateRequest('principal', null);
    scope.addHook('onRequest', async (request, reply) => {
      const header = request.headers.authorization;
      if (!header?.startsWith('Bearer ')) return reply.code(401).send({ error: 'token missing' });
      try {
        const principal = await verify(header.slice(7));
        if (!Array.isArray(principal.roles) || !principal.roles.includes('orders')) return reply.code(403).send({ error: 'role missing' });
        (request as unknown as { principal: Principal }).principal = principal;
      } catch {
        return reply.code(401).send({ error: 'token invalid' });
      }
    });
    const principal = (request: unknown): { sub: string; tenant: string } => (request as { principal: { sub: string; tenant: string } }).principal;
    const policies = [
      { nameSpace: 'peer-tenant-', keyGenerator: (request: unknown) => `t:${principal(request).tenant}` },
      { nameSpace: 'peer-user-', keyGenerator: (request: unknown) => `u:${principal(request).sub}` },
      { nameSpace: 'peer-ip-', keyGenerator: (request: { ip: string }) => request.ip },
    ];
    for (const policy of policies) scope.addHook('onRequest', scope.rateLimit({ max: 1e9, timeWindow: 60_000, ...policy } as never));
    await scope.register(httpProxy, { upstream: upstreamOrigin, prefix: '/orders', rewritePrefix: '/orders', undici: { connections: 128, pipelining: 1 } });
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('the peer gateway did not bind a port');
  return address.port;
}

/** What a caller adds to the reverse proxy: lines in `http` (given the run's directory) and in `location /`, and the upstream's idle connections. */
export interface NginxExtras {
  http?: (dir: string) => string;
  location?: string;
  keepalive?: number;
}

/** nginx in the foreground (one process, pinned with taskset to `cpu` when given) proxying to `upstreamOrigin`; `extras` make it a cache (the edge bench). */
export async function startNginx(upstreamOrigin: string, cpu: string | undefined, extras: NginxExtras = {}): Promise<{ child: ChildProcess; port: number }> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-nginx-'));
  const upstream = new URL(upstreamOrigin);
  const conf = path.join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    `daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log stderr warn;
events { worker_connections 1024; }
http {
  access_log /dev/null;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
${extras.http?.(dir) ?? ''}
  upstream u { server ${upstream.hostname}:${upstream.port}; keepalive ${extras.keepalive ?? 128}; }
  server {
    listen 127.0.0.1:${port};
    keepalive_requests 1000000;
    location / {
      proxy_pass http://u;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
${extras.location ?? ''}
    }
  }
}
`,
  );
  const argv = ['nginx', '-c', conf, '-p', dir];
  const [cmd, ...args] = cpu === undefined ? argv : ['taskset', '-c', cpu, ...argv];
  const child = spawn(cmd!, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  for (let attempt = 0; ; attempt++) {
    if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode} (is it installed? apt-get install -y nginx-light)`);
    const up = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (up) return { child, port };
    if (attempt >= 100) throw new Error(`nginx did not listen on ${port}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
