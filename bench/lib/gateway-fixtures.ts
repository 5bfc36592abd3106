/**
 * What the gateway benches start around their targets: an ES256 token issuer
 * (a JWKS endpoint and one signed access token), a private redis-server, a
 * target process's port and a fixed-count keep-alive load.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { freePort } from '@bulwark/test-support';
import { Pool } from 'undici';

export interface BenchIssuer {
  jwksUrl: string;
  /** An access token (sub bench-user, tenant acme, role orders) valid for an hour. */
  token: string;
  close(): void;
}

/** A JWKS endpoint on a free port and one token signed with its key. */
export async function startBenchIssuer(): Promise<BenchIssuer> {
  const { generateKeyPair, exportJWK, SignJWT } = await import('jose');
  const keys = await generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await exportJWK(keys.publicKey)), kid: 'bench', alg: 'ES256' };
  const jwks = createServer((_req, res) => res.end(JSON.stringify({ keys: [jwk] })));
  await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
  const token = await new SignJWT({ sub: 'bench-user', tenant: 'acme', roles: ['orders'] }).setProtectedHeader({ alg: 'ES256', kid: 'bench' }).setExpirationTime('1h').sign(keys.privateKey);
  return { jwksUrl: `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks`, token, close: () => void jwks.close() };
}

/** A private redis-server on a free port (pinned to `cpu` with taskset when given), answering PING; its URL, pid (taskset execs it) and a stop function. */
export async function startPrivateRedis(cpu?: string): Promise<{ url: string; pid: number; stop(): void }> {
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  const child = cpu === undefined ? spawn('redis-server', args, { stdio: 'ignore' }) : spawn('taskset', ['-c', cpu, 'redis-server', ...args], { stdio: 'ignore' });
  const { Redis } = await import('ioredis');
  for (let attempt = 0; ; attempt++) {
    const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => {}); // a refused probe before the server listens: connect() rejects with it
    try {
      await client.connect();
      await client.ping();
      client.disconnect();
      break;
    } catch (err) {
      client.disconnect();
      if (attempt >= 100 || child.exitCode !== null) throw new Error(`redis-server on port ${port} did not start`, { cause: err });
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  return { url: `redis://127.0.0.1:${port}`, pid: child.pid!, stop: () => void child.kill('SIGKILL') };
}

/** The port a bench/gateway.ts target (BENCH_SERVER mode) prints as `PORT n`; rejects if it exits first. */
export function portOf(child: ChildProcess, name = 'target'): Promise<number> {
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const m = /^PORT (\d+)$/.exec(line);
      if (m) resolve(Number(m[1]));
    });
  });
}

/** `requests` GETs of /orders/o-42, 10 in flight over 10 keep-alive connections; throws on a non-200. */
export async function drive(port: number, requests: number, authorization: string | undefined): Promise<void> {
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: 10 });
  let left = requests;
  const headers = authorization ? { authorization } : {};
  const worker = async (): Promise<void> => {
    while (left-- > 0) {
      const res = await pool.request({ path: '/orders/o-42', method: 'GET', headers });
      await res.body.dump();
      if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
    }
  };
  await Promise.all(Array.from({ length: 10 }, worker));
  await pool.close();
}

export interface TargetSurroundings {
  /** Points a bench/gateway.ts target at the upstream, the JWKS and the Redis. */
  env: Record<string, string>;
  /** A `Bearer …` value the `full*` targets accept. */
  authorization: string;
  stop(): void;
}

/** What a gateway target runs against, unpinned: the `direct` upstream of `gatewayBench` (bench/gateway.ts), a token issuer and a private Redis. */
export async function startTargetSurroundings(gatewayBench: string): Promise<TargetSurroundings> {
  const issuer = await startBenchIssuer();
  const upstream = spawn(process.execPath, ['--conditions=bulwark-source', gatewayBench], { env: { ...process.env, BENCH_SERVER: 'direct' }, stdio: ['ignore', 'pipe', 'inherit'] });
  const upstreamPort = await portOf(upstream, 'upstream');
  const redis = await startPrivateRedis();
  return {
    env: { BENCH_UPSTREAM: `http://127.0.0.1:${upstreamPort}`, BENCH_JWKS: issuer.jwksUrl, BULWARK_REDIS_URL: redis.url },
    authorization: `Bearer ${issuer.token}`,
    stop() {
      upstream.kill('SIGKILL');
      redis.stop();
      issuer.close();
    },
  };
}
