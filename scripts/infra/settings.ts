/**
 * Where each local server lives and listens. Every port can be moved with an
 * environment variable so several checkouts (or CI next to a developer) can
 * run side by side; everything is kept under the git-ignored `.local/`.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const localDir = path.join(repoRoot, '.local');

/** A TCP port from the environment variable `name`, or `fallback`; anything else is an error. */
export function port(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`${name}=${raw} is not a TCP port`);
  return n;
}

export const settings = {
  host: '127.0.0.1',
  postgres: { port: port('BULWARK_PG_PORT', 54320), dir: path.join(localDir, 'postgres') },
  postgresReplica: { port: port('BULWARK_PG_REPLICA_PORT', 54321), dir: path.join(localDir, 'postgres-replica') },
  redis: { port: port('BULWARK_REDIS_PORT', 56379), dir: path.join(localDir, 'redis') },
  kafka: {
    port: port('BULWARK_KAFKA_PORT', 59092),
    controllerPort: port('BULWARK_KAFKA_CONTROLLER_PORT', 59093),
    dir: path.join(localDir, 'kafka'),
  },
  prometheus: { port: port('BULWARK_PROMETHEUS_PORT', 59090), dir: path.join(localDir, 'prometheus') },
  services: { dir: path.join(localDir, 'services') },
} as const;
