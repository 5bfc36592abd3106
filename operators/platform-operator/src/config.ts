/**
 * The operator's configuration, read once from the environment at startup.
 * Every key is declared here with its default and meaning; a bad value fails
 * startup naming every bad key (never echoing values). Nothing else reads
 * process.env.
 */
import { hostname } from 'node:os';
import { newIncarnation } from './lease.ts';

export interface OperatorConfig {
  /** KUBECONFIG: path to a kubeconfig; unset → in-cluster service account, else ~/.kube/config. */
  kubeconfig: string | undefined;
  /** POD_NAME: the replica's name. Default: the host name. */
  name: string;
  /**
   * This process's identity in the Lease and in Events: `<name>-<8 random hex>`, unique per process
   * whatever the environment (two processes on one host, a container restarted in its Pod), so no two
   * processes ever hold the Lease as one and every start of a process is a new leadership term.
   */
  identity: string;
  /** POD_NAMESPACE: namespace of the leader Lease. Default "bulwark-system". */
  leaseNamespace: string;
  /** LEASE_NAME: name of the leader Lease. Default "platform-operator". */
  leaseName: string;
  /** WATCH_NAMESPACE: watch one namespace only; unset → all namespaces. */
  watchNamespace: string | undefined;
  /** PORT: /healthz /readyz /metrics. Default 8080. */
  port: number;
  /** LEASE_DURATION_MS / RENEW_DEADLINE_MS / RETRY_PERIOD_MS: leader election timings (defaults 15000/10000/2000). */
  leaseDurationMs: number | undefined;
  renewDeadlineMs: number | undefined;
  retryPeriodMs: number | undefined;
}

export class ConfigError extends Error {
  readonly keys: string[];
  constructor(problems: string[]) {
    super(`invalid configuration: ${problems.join('; ')}`);
    this.name = 'ConfigError';
    this.keys = problems;
  }
}

type Env = Record<string, string | undefined>;

export function loadConfig(env: Env = process.env): OperatorConfig {
  const problems: string[] = [];
  const str = (key: string): string | undefined => {
    const value = env[key]?.trim();
    return value ? value : undefined;
  };
  const int = (key: string, min: number, max: number): number | undefined => {
    const raw = str(key);
    if (raw === undefined) return undefined;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      problems.push(`${key} must be an integer in [${min}, ${max}]`);
      return undefined;
    }
    return value;
  };
  // Events allow 128 characters for reportingInstance: the name keeps at most 100.
  const name = (str('POD_NAME') ?? hostname()).slice(0, 100);
  const config: OperatorConfig = {
    kubeconfig: str('KUBECONFIG'),
    name,
    identity: `${name}-${newIncarnation()}`,
    leaseNamespace: str('POD_NAMESPACE') ?? 'bulwark-system',
    leaseName: str('LEASE_NAME') ?? 'platform-operator',
    watchNamespace: str('WATCH_NAMESPACE'),
    port: int('PORT', 0, 65_535) ?? 8080,
    leaseDurationMs: int('LEASE_DURATION_MS', 1000, 3_600_000),
    renewDeadlineMs: int('RENEW_DEADLINE_MS', 1, 3_600_000),
    retryPeriodMs: int('RETRY_PERIOD_MS', 1, 3_600_000),
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
