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

/**
 * Linux hands out local ports for outgoing connections from 32768–60999
 * (net.ipv4.ip_local_port_range). A server port inside that range can be held
 * by some client socket (or its TIME_WAIT) when a server restarts mid-run, and
 * the restart fails with EADDRINUSE: the test run makes tens of thousands of
 * connections, and Prometheus once lost 59090 that way in CI. So every default
 * listens below 32768; scripts/infra/settings.test.ts checks it.
 */
export const defaultPorts = {
  BULWARK_PG_PORT: 15432,
  BULWARK_PG_REPLICA_PORT: 15433,
  BULWARK_REDIS_PORT: 16379,
  BULWARK_KAFKA_PORT: 19092,
  BULWARK_KAFKA_CONTROLLER_PORT: 19093,
  BULWARK_PROMETHEUS_PORT: 19090,
  BULWARK_SMTP_PORT: 11025,
  BULWARK_MAIL_WEB_PORT: 11080,
  BULWARK_S3_PORT: 19000,
  BULWARK_CLAMD_PORT: 13310,
} as const;

export const settings = {
  host: '127.0.0.1',
  postgres: { port: port('BULWARK_PG_PORT', defaultPorts.BULWARK_PG_PORT), dir: path.join(localDir, 'postgres') },
  postgresReplica: { port: port('BULWARK_PG_REPLICA_PORT', defaultPorts.BULWARK_PG_REPLICA_PORT), dir: path.join(localDir, 'postgres-replica') },
  redis: { port: port('BULWARK_REDIS_PORT', defaultPorts.BULWARK_REDIS_PORT), dir: path.join(localDir, 'redis') },
  kafka: {
    port: port('BULWARK_KAFKA_PORT', defaultPorts.BULWARK_KAFKA_PORT),
    controllerPort: port('BULWARK_KAFKA_CONTROLLER_PORT', defaultPorts.BULWARK_KAFKA_CONTROLLER_PORT),
    dir: path.join(localDir, 'kafka'),
  },
  prometheus: { port: port('BULWARK_PROMETHEUS_PORT', defaultPorts.BULWARK_PROMETHEUS_PORT), dir: path.join(localDir, 'prometheus') },
  mail: {
    smtpPort: port('BULWARK_SMTP_PORT', defaultPorts.BULWARK_SMTP_PORT),
    webPort: port('BULWARK_MAIL_WEB_PORT', defaultPorts.BULWARK_MAIL_WEB_PORT),
    dir: path.join(localDir, 'mail'),
  },
  s3: { port: port('BULWARK_S3_PORT', defaultPorts.BULWARK_S3_PORT), dir: path.join(localDir, 's3') },
  clamd: { port: port('BULWARK_CLAMD_PORT', defaultPorts.BULWARK_CLAMD_PORT), dir: path.join(localDir, 'clamd') },
  /**
   * portOffset (BULWARK_APP_PORT_OFFSET) moves every app's declared port by the same amount, so a
   * second checkout's `npm run up` (or the first-run test's clone) runs beside this one; the
   * addresses the apps give each other ({{url:<app>}}) move with them.
   */
  services: { dir: path.join(localDir, 'services'), portOffset: appPortOffset() },
} as const;

function appPortOffset(): number {
  const raw = process.env.BULWARK_APP_PORT_OFFSET;
  if (raw === undefined || raw === '') return 0;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 50_000) throw new Error(`BULWARK_APP_PORT_OFFSET=${raw} is not a whole number from 0 to 50000`);
  return n;
}
