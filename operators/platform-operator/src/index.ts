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
export { CRONTASK, CRONTASK_FINALIZER, type CronTask, cronTaskController, cronTaskReconciler, desiredStatus, RunIndex } from './reconcilers/crontask.ts';
export { type ConcurrencyPolicy, planTicks, type TickPlan } from './reconcilers/crontask-plan.ts';
export { CRONTASKRUN, type CronTaskRun, HEADERS as CRONTASK_HEADERS, runName, RunStore } from './reconcilers/crontask-runs.ts';
export { latestTickAtOrBefore, nextScheduleTime, ScheduleError, ticksBetween } from './reconcilers/crontask-schedule.ts';
export {
  ClusterLease,
  clusterObjects,
  EndpointSliceRouter,
  failoverMetrics,
  type FailoverMetrics,
  type FailoverOutcome,
  KubernetesDriver,
  POSTGRESCLUSTER,
  type PostgresCluster,
  postgresClusterController,
  postgresClusterReconciler,
  PodLabelRouter,
  type Router,
  SWITCHOVER_ANNOTATION,
} from './reconcilers/postgrescluster.ts';
export { chooseCandidate, decide, failoverSteps, type InstanceProbe, type PostgresClusterSpec, validateSpec } from './reconcilers/postgrescluster-decide.ts';
export type { InstanceDriver, InstanceInfo } from './postgres/driver.ts';
export { LocalDriver, LocalInstance } from './postgres/local.ts';
