/**
 * What the gateway benches start around their targets: an ES256 token issuer
 * (a JWKS endpoint and one signed access token) and a private redis-server.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

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

/** A private redis-server on a free port (pinned to `cpu` with taskset when given), answering PING; its URL and a stop function. */
export async function startPrivateRedis(cpu?: string): Promise<{ url: string; stop(): void }> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  const child = cpu === undefined ? spawn('redis-server', args, { stdio: 'ignore' }) : spawn('taskset', ['-c', cpu, 'redis-server', ...args], { stdio: 'ignore' });
  const { Redis } = await import('ioredis');
  for (let attempt = 0; ; attempt++) {
    const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
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
  return { url: `redis://127.0.0.1:${port}`, stop: () => void child.kill('SIGKILL') };
}
