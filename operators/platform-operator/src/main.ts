/**
 * Process entry: config, logger, kube client, controllers, operator. Logging,
 * config, signal handling and metrics are the service kit's (its subpaths load
 * no Express): LOG_LEVEL sets the level; SIGTERM/SIGINT stop the operator in
 * reverse order (release the Lease, drain queues, close the server) within
 * SHUTDOWN_TIMEOUT_MS, else the process exits 1; a second signal exits at once.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { handleShutdownSignals } from '@bulwark/service-kit/lifecycle';
import { Registry } from '@bulwark/service-kit/metrics';
import { loadConfig } from './config.ts';
import { resolveTimings } from './leader.ts';
import { createOperatorLogger } from './log.ts';
import { Operator } from './operator.ts';
import { cronTaskController } from './reconcilers/crontask.ts';
import { databaseCredentialController } from './reconcilers/databasecredential.ts';
import { postgresClusterController } from './reconcilers/postgrescluster.ts';

const config = loadConfig();
const log = createOperatorLogger(config.logLevel);
const timings = resolveTimings({
  leaseDurationMs: config.leaseDurationMs,
  renewDeadlineMs: config.renewDeadlineMs,
  retryPeriodMs: config.retryPeriodMs,
});

const kc = new KubeConfig();
if (config.kubeconfig) kc.loadFromFile(config.kubeconfig);
else kc.loadFromDefault();

const registry = new Registry();
const operator = new Operator({
  kc,
  identity: config.identity,
  namespace: config.leaseNamespace,
  leaseName: config.leaseName,
  timings,
  registry,
  port: config.port,
  log,
  controllers: [
    cronTaskController({ kc, identity: config.identity, namespace: config.watchNamespace, registry, log }),
    postgresClusterController({ kc, identity: config.identity, namespace: config.watchNamespace, registry, log }),
    databaseCredentialController({ kc, identity: config.identity, namespace: config.watchNamespace, registry, log }),
  ],
});

handleShutdownSignals({ log, stop: () => operator.stop(), deadlineMs: config.shutdownTimeoutMs });

log.debug({ identity: config.identity, shutdownTimeoutMs: config.shutdownTimeoutMs }, 'operator starting');
try {
  await operator.start();
} catch (err) {
  log.fatal({ err }, 'failed to start');
  log.flush();
  process.exit(1);
}
