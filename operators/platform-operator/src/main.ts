/**
 * Process entry: config, kube client, controllers, operator; SIGTERM/SIGINT
 * stop it in reverse order (release the Lease, drain queues, close the
 * server). A second signal exits at once.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { loadConfig } from './config.ts';
import { resolveTimings } from './leader.ts';
import { jsonLogger as log } from './log.ts';
import { Registry } from './metrics.ts';
import { Operator } from './operator.ts';
import { cronTaskController } from './reconcilers/crontask.ts';
import { postgresClusterController } from './reconcilers/postgrescluster.ts';

const config = loadConfig();
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
  ],
});

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(1);
    stopping = true;
    log.info({ signal }, 'stopping');
    operator.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: String(error) }, 'stop failed');
        process.exit(1);
      },
    );
  });
}

await operator.start();
