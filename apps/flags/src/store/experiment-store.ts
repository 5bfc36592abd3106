/**
 * Experiments, their exposures and conversions, and scheduled changes in
 * PostgreSQL. A targeting key counts once per experiment (first exposure
 * wins) and converts once per event.
 */
import type { Queryable } from '@bulwark/db';

export interface ExperimentRecord {
  key: string;
  flag: string;
  environment: string;
  controlVariant: string;
  metric: string;
  minSamplePerVariant: number;
  status: 'running' | 'stopped';
  startedAt: string;
  stoppedAt: string | null;
}

const TS = (col: string) => `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
const EXPERIMENT_COLUMNS = `key, flag_key AS flag, environment, control_variant AS "controlVariant", metric, min_sample_per_variant AS "minSamplePerVariant", status,
  ${TS('started_at')} AS "startedAt", ${TS('stopped_at')} AS "stoppedAt"`;

export async function findExperiment(db: Queryable, key: string): Promise<ExperimentRecord | undefined> {
  const { rows } = await db.query<ExperimentRecord>({ name: 'flags.find_experiment', text: `SELECT ${EXPERIMENT_COLUMNS} FROM experiments WHERE key = $1`, values: [key] });
  return rows[0];
}

export async function runningExperiments(db: Queryable, environment: string): Promise<ExperimentRecord[]> {
  const { rows } = await db.query<ExperimentRecord>({ name: 'flags.running_experiments', text: `SELECT ${EXPERIMENT_COLUMNS} FROM experiments WHERE status = 'running' AND environment = $1`, values: [environment] });
  return rows;
}

export async function runningExperimentOn(db: Queryable, flag: string, environment: string): Promise<ExperimentRecord | undefined> {
  const { rows } = await db.query<ExperimentRecord>({
    name: 'flags.running_experiment_on',
    text: `SELECT ${EXPERIMENT_COLUMNS} FROM experiments WHERE status = 'running' AND flag_key = $1 AND environment = $2`,
    values: [flag, environment],
  });
  return rows[0];
}

export async function insertExperiment(db: Queryable, e: Omit<ExperimentRecord, 'status' | 'startedAt' | 'stoppedAt'>): Promise<ExperimentRecord> {
  const { rows } = await db.query<ExperimentRecord>({
    name: 'flags.insert_experiment',
    text: `INSERT INTO experiments (key, flag_key, environment, control_variant, metric, min_sample_per_variant) VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${EXPERIMENT_COLUMNS}`,
    values: [e.key, e.flag, e.environment, e.controlVariant, e.metric, e.minSamplePerVariant],
  });
  return rows[0]!;
}

export async function stopExperiment(db: Queryable, key: string): Promise<ExperimentRecord | undefined> {
  const { rows } = await db.query<ExperimentRecord>({
    name: 'flags.stop_experiment',
    text: `UPDATE experiments SET status = 'stopped', stopped_at = now() WHERE key = $1 AND status = 'running' RETURNING ${EXPERIMENT_COLUMNS}`,
    values: [key],
  });
  return rows[0];
}

/** Files exposures (first per key wins); returns those that were new. */
export async function insertExposures(db: Queryable, exposures: { experiment: string; variant: string; targetingKey: string }[]): Promise<{ experiment: string; variant: string; targetingKey: string }[]> {
  const { rows } = await db.query<{ experiment: string; variant: string; targetingKey: string }>({
    name: 'flags.insert_exposures',
    text: `INSERT INTO exposures (experiment, variant, targeting_key)
      SELECT DISTINCT ON (e, k) e, v, k FROM unnest($1::text[], $2::text[], $3::text[]) AS x(e, v, k)
      ON CONFLICT DO NOTHING RETURNING experiment, variant, targeting_key AS "targetingKey"`,
    values: [exposures.map((e) => e.experiment), exposures.map((e) => e.variant), exposures.map((e) => e.targetingKey)],
  });
  return rows;
}

export async function insertConversions(db: Queryable, conversions: { event: string; targetingKey: string }[]): Promise<number> {
  const { rowCount } = await db.query({
    name: 'flags.insert_conversions',
    text: `INSERT INTO conversions (event, targeting_key) SELECT DISTINCT ON (e, k) e, k FROM unnest($1::text[], $2::text[]) AS x(e, k) ON CONFLICT DO NOTHING`,
    values: [conversions.map((c) => c.event), conversions.map((c) => c.targetingKey)],
  });
  return rowCount ?? 0;
}

/** Exposures and conversions (after the key's first exposure) per variant. */
export async function variantCounts(db: Queryable, experiment: string, metric: string): Promise<{ variant: string; exposures: number; conversions: number }[]> {
  const { rows } = await db.query<{ variant: string; exposures: string; conversions: string }>({
    name: 'flags.variant_counts',
    text: `SELECT x.variant, count(*) AS exposures, count(c.targeting_key) AS conversions
      FROM exposures x LEFT JOIN conversions c ON c.tenant_id = x.tenant_id AND c.event = $2 AND c.targeting_key = x.targeting_key AND c.first_at >= x.first_at
      WHERE x.experiment = $1 GROUP BY x.variant`,
    values: [experiment, metric],
  });
  return rows.map((r) => ({ variant: r.variant, exposures: Number(r.exposures), conversions: Number(r.conversions) }));
}

export interface ScheduledChangeRecord {
  id: string;
  flagKey: string;
  applyAt: string;
  change: unknown;
  actor: string;
  status: 'pending' | 'applied' | 'cancelled' | 'failed';
  outcome: string | null;
}

const SCHEDULED_COLUMNS = `id, flag_key AS "flagKey", ${TS('apply_at')} AS "applyAt", change, actor, status, outcome`;

export async function insertScheduledChange(db: Queryable, c: { id: string; flagKey: string; applyAt: string; change: unknown; actor: string }): Promise<ScheduledChangeRecord> {
  const { rows } = await db.query<ScheduledChangeRecord>({
    name: 'flags.insert_scheduled',
    text: `INSERT INTO scheduled_changes (id, flag_key, apply_at, change, actor) VALUES ($1, $2, $3, $4, $5) RETURNING ${SCHEDULED_COLUMNS}`,
    values: [c.id, c.flagKey, c.applyAt, JSON.stringify(c.change), c.actor],
  });
  return rows[0]!;
}

export async function listScheduledChanges(db: Queryable, flagKey: string): Promise<ScheduledChangeRecord[]> {
  const { rows } = await db.query<ScheduledChangeRecord>({ name: 'flags.list_scheduled', text: `SELECT ${SCHEDULED_COLUMNS} FROM scheduled_changes WHERE flag_key = $1 ORDER BY apply_at, id`, values: [flagKey] });
  return rows;
}

export async function cancelScheduledChange(db: Queryable, id: string): Promise<ScheduledChangeRecord | undefined> {
  const { rows } = await db.query<ScheduledChangeRecord>({
    name: 'flags.cancel_scheduled',
    text: `UPDATE scheduled_changes SET status = 'cancelled', outcome = 'cancelled' WHERE id = $1 AND status = 'pending' RETURNING ${SCHEDULED_COLUMNS}`,
    values: [id],
  });
  return rows[0];
}

/** Due pending changes of every tenant, locked for this transaction (system context; other replicas skip them). */
export async function takeDueChanges(db: Queryable, limit: number): Promise<(ScheduledChangeRecord & { tenant: string })[]> {
  const { rows } = await db.query<ScheduledChangeRecord & { tenant: string }>({
    name: 'flags.take_due',
    text: `SELECT tenant_id AS tenant, ${SCHEDULED_COLUMNS} FROM scheduled_changes WHERE status = 'pending' AND apply_at <= now() ORDER BY apply_at LIMIT $1 FOR UPDATE SKIP LOCKED`,
    values: [limit],
  });
  return rows;
}

/** Locks a pending change for the caller's transaction; false when it is gone or another transaction holds it. */
export async function lockPendingChange(db: Queryable, id: string): Promise<boolean> {
  const { rows } = await db.query({ name: 'flags.lock_scheduled', text: "SELECT id FROM scheduled_changes WHERE id = $1 AND status = 'pending' FOR UPDATE SKIP LOCKED", values: [id] });
  return rows.length > 0;
}

export async function finishScheduledChange(db: Queryable, tenant: string, id: string, status: 'applied' | 'failed', outcome: string): Promise<void> {
  await db.query({ name: 'flags.finish_scheduled', text: 'UPDATE scheduled_changes SET status = $3, outcome = $4 WHERE tenant_id = $1 AND id = $2', values: [tenant, id, status, outcome] });
}
