/** Public face of the operator's controller machinery (queue, leader election, informers, controller glue). */
export { type Clock, systemClock } from './clock.ts';
export { ConfigError, loadConfig, type OperatorConfig } from './config.ts';
export { Controller, type ControllerOptions, type LeadershipTerm, type ReconcileContext, type Reconciler, type SecondaryWatch } from './controller.ts';
export { enqueueHandler, Informer, type InformerEventType, type InformerHandler, type InformerOptions, objectKey } from './informer.ts';
export { type Condition, countRequests, type CustomRef, FIELD_MANAGER, KubeWriter, setCondition } from './kube.ts';
export {
  DEFAULT_TIMINGS,
  type FencingToken,
  formatFencingToken,
  LeaderElectionConfigError,
  type LeaderElectionTimings,
  LeaderElector,
  type LeaderElectorOptions,
  resolveTimings,
} from './leader.ts';
export { createOperatorLogger, defaultLogger, type Logger, silentLogger } from './log.ts';
export { Operator, type OperatorOptions } from './operator.ts';
export { backoffDelay, type BackoffOptions, type RateLimitOptions, TokenBucket, WorkQueue, type WorkQueueOptions } from './queue.ts';
export { cronTaskController, type CronTaskControllerOptions } from './reconcilers/crontask.ts';
export { type CronTaskReconcilerOptions, cronTaskReconciler } from './reconcilers/crontask-reconciler.ts';
export { TaskReconciliation } from './reconcilers/crontask-reconciliation.ts';
export { CRONTASK, CRONTASK_FINALIZER, type CronTask, desiredStatus, specOrMetaChanged } from './reconcilers/crontask-resource.ts';
export { RunIndex } from './reconcilers/crontask-run-index.ts';
export { type ConcurrencyPolicy, planTicks, type TickPlan } from './reconcilers/crontask-plan.ts';
export { CRONTASKRUN, type CronTaskRun, HEADERS as CRONTASK_HEADERS, runName, RunStore } from './reconcilers/crontask-runs.ts';
export { latestTickAtOrBefore, nextScheduleTime, ScheduleError, ticksBetween } from './reconcilers/crontask-schedule.ts';
export { postgresClusterController } from './reconcilers/postgrescluster.ts';
export { type FailoverMetrics, failoverMetrics, type FailoverOutcome } from './reconcilers/postgrescluster-failover.ts';
export { ClusterLease } from './reconcilers/postgrescluster-lease.ts';
export { clusterObjects, POSTGRES_ENTRYPOINT } from './reconcilers/postgrescluster-manifests.ts';
export { chooseAction, chooseCandidate, type ClusterAction, type ClusterHistory, failoverSteps, type InstanceProbe, type PostgresClusterSpec, validateSpec } from './reconcilers/postgrescluster-policy.ts';
export { ClusterReconciliation, type PostgresClusterDeps, postgresClusterReconciler } from './reconcilers/postgrescluster-reconciliation.ts';
export { POSTGRESCLUSTER, type PostgresCluster, SWITCHOVER_ANNOTATION } from './reconcilers/postgrescluster-resource.ts';
export { EndpointSliceRouter, PodLabelRouter, type Router } from './reconcilers/postgrescluster-routers.ts';
export { KubernetesDriver } from './postgres/kubernetes-driver.ts';
export type { InstanceDriver, InstanceInfo } from './postgres/driver.ts';
