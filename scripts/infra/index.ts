/**
 * The local infrastructure as a whole: the servers in start order, and
 * `ensureInfra()` used by `npm run infra`, `npm run up` and Jest's global setup
 * (reuse what is running, start what is not).
 */
import { clamd } from './clamd.ts';
import { kafka } from './kafka.ts';
import { mail } from './mail.ts';
import { postgres, postgresReplica } from './postgres.ts';
import { prometheus } from './prometheus.ts';
import { redis } from './redis.ts';
import { s3 } from './s3.ts';
import type { LocalServer } from './server.ts';

export type { LocalServer, ServerStatus } from './server.ts';
export { writeScrapeTarget } from './prometheus.ts';
export { settings, repoRoot, localDir } from './settings.ts';

/** Every server we know, in start order. */
export const allServers: LocalServer[] = [postgres, postgresReplica, redis, kafka, prometheus, mail, s3, clamd];
/** Started by `up` with no names. The replica is started only on request. */
export const defaultServers = ['postgres', 'redis', 'kafka', 'prometheus', 'mail', 's3', 'clamd'];

export function selectServers(names: string[]): LocalServer[] {
  const wanted = names.length > 0 ? names : defaultServers;
  const unknown = wanted.filter((n) => !allServers.some((s) => s.name === n));
  if (unknown.length > 0) throw new Error(`unknown server ${unknown.join(', ')}; known: ${allServers.map((s) => s.name).join(', ')}`);
  return allServers.filter((s) => wanted.includes(s.name));
}

/** Starts the named servers (sequentially: later ones are cheap once earlier are up) and returns client env. */
export async function ensureInfra(names: string[] = []): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  for (const server of selectServers(names)) {
    const clientEnv = server.clientEnv();
    // A client variable already set (e.g. CI pointing at its own servers) wins: reuse it.
    const preset = Object.keys(clientEnv).every((k) => process.env[k]);
    if (preset) {
      for (const k of Object.keys(clientEnv)) env[k] = process.env[k]!;
      continue;
    }
    await server.up();
    Object.assign(env, server.clientEnv());
  }
  return env;
}
