/**
 * A/B experiments on a flag's percentage rollout. Starting one marks the
 * flag in its environment's snapshot, so evaluations decided by the rollout
 * report exposures (provider → POST /v1/exposures); each new exposure is
 * filed once per targeting key (first variant wins) and sent to Kafka for
 * analytics. Results compare each variant's conversion rate with control by
 * a two-proportion z-test and check the sample ratio, but only once every
 * variant has its minimum sample (domain/stats.ts says why these tests).
 */
import { withTransaction } from '@bulwark/db';
import { flagsError } from '../errors.ts';
import { recordFlagsEvent } from '../events/flags-events.ts';
import type { ExposuresBody } from '../http/schemas.ts';
import * as store from '../store/experiment-store.ts';
import { findFlag } from '../store/flag-store.ts';
import { recordChange, requireTenant, type FlagsDeps } from './flags.ts';
import { sampleRatioCheck, twoProportionZTest } from './stats.ts';
import { experimentRollout } from './validate.ts';
import type { z } from 'zod';

export const ALPHA = 0.05;

export async function startExperiment(
  deps: FlagsDeps,
  actor: string,
  key: string,
  input: { flag: string; environment: string; controlVariant: string; metric: string; minSamplePerVariant: number },
): Promise<store.ExperimentRecord> {
  const tenant = requireTenant();
  const experiment = await withTransaction(deps.pool, async (tx) => {
    const flag = await findFlag(tx, input.flag, true);
    if (!flag) throw flagsError('FLAGS_FLAG_NOT_FOUND', `no flag ${input.flag}`, { key: input.flag });
    const config = flag.environments[input.environment];
    if (!config) throw flagsError('FLAGS_UNKNOWN_ENVIRONMENT', `flag ${input.flag} has no environment ${input.environment}`, { environment: input.environment });
    const rollout = experimentRollout(config);
    if (!rollout?.some((p) => p.variant === input.controlVariant)) throw flagsError('FLAGS_EXPERIMENT_INVALID', `flag ${input.flag} has no rollout with variant ${input.controlVariant} in ${input.environment}`);
    const running = await store.runningExperimentOn(tx, input.flag, input.environment);
    if (running || (await store.findExperiment(tx, key))) throw flagsError('FLAGS_EXPERIMENT_CONFLICT', `experiment ${running?.key ?? key} exists`, { experiment: running?.key ?? key });
    const created = await store.insertExperiment(tx, { key, ...input });
    await recordChange(tx, tenant, { entity: 'experiment', key, action: 'started', actor, before: null, after: created });
    return created;
  });
  deps.metrics.changes.inc({ entity: 'experiment', action: 'started' });
  deps.hub.changed(tenant);
  return experiment;
}

export async function endExperiment(deps: FlagsDeps, actor: string, key: string): Promise<store.ExperimentRecord> {
  const tenant = requireTenant();
  const stopped = await withTransaction(deps.pool, async (tx) => {
    const before = await store.findExperiment(tx, key);
    if (!before) throw flagsError('FLAGS_EXPERIMENT_NOT_FOUND', `no experiment ${key}`, { key });
    const after = await store.stopExperiment(tx, key);
    if (!after) throw flagsError('FLAGS_EXPERIMENT_CONFLICT', `experiment ${key} is stopped already`, { experiment: key });
    await recordChange(tx, tenant, { entity: 'experiment', key, action: 'stopped', actor, before, after });
    return after;
  });
  deps.metrics.changes.inc({ entity: 'experiment', action: 'stopped' });
  deps.hub.changed(tenant);
  return stopped;
}

/** Files exposures; the new ones go to Kafka (outbox) in the same transaction. */
export async function recordExposures(deps: FlagsDeps, exposures: z.output<typeof ExposuresBody>['exposures']): Promise<{ accepted: number; new: number }> {
  const tenant = requireTenant();
  const fresh = await withTransaction(deps.pool, async (tx) => {
    const inserted = await store.insertExposures(tx, exposures);
    const byId = new Map(exposures.map((e) => [`${e.experiment}\u0000${e.targetingKey}`, e]));
    for (const row of inserted) {
      const e = byId.get(`${row.experiment}\u0000${row.targetingKey}`)!;
      await recordFlagsEvent(tx, 'exposure', e.flag, { tenant, experiment: row.experiment, flag: e.flag, variant: row.variant, targetingKey: row.targetingKey, environment: e.environment });
    }
    return inserted.length;
  });
  deps.metrics.exposures.inc({ outcome: 'new' }, fresh);
  deps.metrics.exposures.inc({ outcome: 'repeat' }, exposures.length - fresh);
  return { accepted: exposures.length, new: fresh };
}

export async function recordConversions(deps: FlagsDeps, conversions: { event: string; targetingKey: string }[]): Promise<number> {
  requireTenant();
  await store.insertConversions(deps.pool, conversions);
  return conversions.length;
}

export async function experimentResults(deps: FlagsDeps, key: string) {
  requireTenant();
  const experiment = await store.findExperiment(deps.pool, key);
  if (!experiment) throw flagsError('FLAGS_EXPERIMENT_NOT_FOUND', `no experiment ${key}`, { key });
  const flag = await findFlag(deps.pool, experiment.flag);
  const config = flag?.environments[experiment.environment];
  const rollout = (config && experimentRollout(config)) ?? [];
  const counts = new Map((await store.variantCounts(deps.pool, key, experiment.metric)).map((c) => [c.variant, c]));
  const arms = rollout.map((p) => ({ variant: p.variant, share: p.weight / 100, exposures: counts.get(p.variant)?.exposures ?? 0, conversions: counts.get(p.variant)?.conversions ?? 0 }));
  const ready = arms.length >= 2 && arms.every((a) => a.exposures >= experiment.minSamplePerVariant);
  const control = arms.find((a) => a.variant === experiment.controlVariant);
  const treatments = Math.max(1, arms.length - 1);
  // Bonferroni: each of the k - 1 comparisons with control at alpha / (k - 1).
  const alpha = ALPHA / treatments;
  return {
    experiment,
    test: 'two-proportion z-test (pooled) per variant against control, two-sided, Bonferroni-corrected; sample ratio by chi-square goodness of fit, mismatch at p < 0.001',
    alpha,
    ready,
    variants: arms.map((a) => ({
      variant: a.variant,
      exposures: a.exposures,
      conversions: a.conversions,
      rate: ready ? a.conversions / a.exposures : null,
      expectedShare: a.share,
      vsControl: ready && control && a !== control ? twoProportionZTest({ n: control.exposures, x: control.conversions }, { n: a.exposures, x: a.conversions }, alpha) : null,
    })),
    sampleRatio: ready ? sampleRatioCheck(arms.map((a) => a.exposures), arms.map((a) => a.share)) : null,
  };
}
