/**
 * A tenant's snapshot of one environment: every flag projected onto it (a
 * flag without that environment is absent), the segments, the running
 * experiments marked on their flags, and the revision it includes. Read in
 * one REPEATABLE READ transaction so the revision matches the rows.
 */
import { withTransaction, type DbPool } from '@bulwark/db';
import type { FlagState, Snapshot } from '@bulwark/openfeature-provider/evaluation';
import { runningExperiments } from '../store/experiment-store.ts';
import { latestRevision, listFlags, listSegments, type FlagRecord } from '../store/flag-store.ts';

export function projectFlag(flag: FlagRecord, environment: string, experiment?: string): FlagState | undefined {
  const config = flag.environments[environment];
  if (!config) return undefined;
  return {
    key: flag.key,
    type: flag.type,
    variants: flag.variants,
    version: flag.version,
    killed: flag.killed,
    enabled: config.enabled,
    offVariant: config.offVariant,
    rules: config.rules,
    fallthrough: config.fallthrough,
    salt: flag.salt,
    ...(experiment !== undefined ? { experiment: { key: experiment } } : {}),
  };
}

export async function buildSnapshot(pool: DbPool, tenant: string, environment: string): Promise<Snapshot> {
  return withTransaction(
    pool,
    async (tx) => {
      const revision = await latestRevision(tx);
      const flags = await listFlags(tx);
      const segments = await listSegments(tx);
      const experiments = new Map((await runningExperiments(tx, environment)).map((e) => [e.flag, e.key]));
      const snapshot: Snapshot = { tenant, environment, revision, flags: {}, segments: {} };
      for (const flag of flags) {
        const state = projectFlag(flag, environment, experiments.get(flag.key));
        if (state) snapshot.flags[flag.key] = state;
      }
      for (const s of segments) snapshot.segments[s.key] = { key: s.key, included: s.included, excluded: s.excluded, clauses: s.clauses };
      return snapshot;
    },
    { isolation: 'repeatable read', readOnly: true },
  );
}
