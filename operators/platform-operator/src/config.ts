/**
 * The operator's configuration, a schema read once from the environment at
 * startup through the service kit's loader (`@bulwark/service-kit/config`):
 * every key is declared here with its default and meaning; a bad value fails
 * startup with one ConfigError naming every bad key (never echoing values).
 * Nothing else reads process.env.
 */
import { hostname } from 'node:os';
import { baseConfigSchema, ConfigError, loadConfig as loadFromSchema } from '@bulwark/service-kit/config';
import { z } from 'zod';
import { newIncarnation } from './lease.ts';

const ms = (min: number) => z.coerce.number().int().min(min).max(3_600_000);

/** Every key the operator reads. LOG_LEVEL and SHUTDOWN_TIMEOUT_MS mean what they mean for every service. */
export const operatorConfigSchema = baseConfigSchema.pick({ LOG_LEVEL: true, SHUTDOWN_TIMEOUT_MS: true }).extend({
  KUBECONFIG: z.string().optional().describe('Path to a kubeconfig; unset → in-cluster service account, else ~/.kube/config.'),
  POD_NAME: z.string().optional().describe("The replica's name. Default: the host name."),
  POD_NAMESPACE: z.string().default('bulwark-system').describe('Namespace of the leader Lease.'),
  LEASE_NAME: z.string().default('platform-operator').describe('Name of the leader Lease.'),
  WATCH_NAMESPACE: z.string().optional().describe('Watch one namespace only; unset → all namespaces.'),
  PORT: z.coerce.number().int().min(0).max(65_535).default(8080).describe('/healthz /readyz /metrics.'),
  LEASE_DURATION_MS: ms(1000).optional().describe('Leader election: lease duration (default 15000).'),
  RENEW_DEADLINE_MS: ms(1).optional().describe('Leader election: renew deadline (default 10000).'),
  RETRY_PERIOD_MS: ms(1).optional().describe('Leader election: retry period (default 2000).'),
});

export interface OperatorConfig {
  kubeconfig: string | undefined;
  /** POD_NAME, at most 100 characters (Events allow 128 for reportingInstance). */
  name: string;
  /**
   * This process's identity in the Lease and in Events: `<name>-<8 random hex>`, unique per process
   * whatever the environment (two processes on one host, a container restarted in its Pod), so no two
   * processes ever hold the Lease as one and every start of a process is a new leadership term.
   */
  identity: string;
  leaseNamespace: string;
  leaseName: string;
  watchNamespace: string | undefined;
  port: number;
  leaseDurationMs: number | undefined;
  renewDeadlineMs: number | undefined;
  retryPeriodMs: number | undefined;
  /** LOG_LEVEL: pino level (default info). */
  logLevel: string;
  /** SHUTDOWN_TIMEOUT_MS: longest stop (release the Lease, drain queues) before the process exits 1 anyway (default 10000). */
  shutdownTimeoutMs: number;
}

export { ConfigError };

export function loadConfig(env: Record<string, string | undefined> = process.env): OperatorConfig {
  const c = loadFromSchema(operatorConfigSchema, env);
  const name = (c.POD_NAME ?? hostname()).slice(0, 100);
  return {
    kubeconfig: c.KUBECONFIG,
    name,
    identity: `${name}-${newIncarnation()}`,
    leaseNamespace: c.POD_NAMESPACE,
    leaseName: c.LEASE_NAME,
    watchNamespace: c.WATCH_NAMESPACE,
    port: c.PORT,
    leaseDurationMs: c.LEASE_DURATION_MS,
    renewDeadlineMs: c.RENEW_DEADLINE_MS,
    retryPeriodMs: c.RETRY_PERIOD_MS,
    logLevel: c.LOG_LEVEL,
    shutdownTimeoutMs: c.SHUTDOWN_TIMEOUT_MS,
  };
}
