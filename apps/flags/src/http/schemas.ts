/** Request and response schemas of the HTTP API (validation and /openapi.json). */
import { z } from 'zod';

export const Key = z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,79}$/).describe('Lower-case letters, digits, `_`, `.`, `-`; up to 80.');
const Environment = z.string().regex(/^[a-z][a-z0-9-]{0,39}$/).describe('e.g. production, staging.');
const VariantName = z.string().regex(/^[A-Za-z0-9_-]{1,40}$/);
type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
const JsonValue: z.ZodType<Json> = z.lazy(() => z.union([z.null(), z.boolean(), z.number(), z.string().max(10_000), z.array(JsonValue).max(100), z.record(z.string().max(100), JsonValue)]));

const AttributeClause = z.object({
  attribute: z.string().min(1).max(100).describe('A context attribute; `targetingKey` is the targeting key.'),
  op: z.enum(['in', 'notIn', 'contains', 'startsWith', 'endsWith', 'gt', 'gte', 'lt', 'lte']),
  values: z.array(z.union([z.string().max(200), z.number(), z.boolean()])).min(1).max(1_000),
});
const SegmentClause = z.object({ segment: Key, negate: z.boolean().default(false) });
const Clause = z.union([AttributeClause, SegmentClause]);
const Rollout = z.array(z.object({ variant: VariantName, weight: z.number().min(0).max(100).multipleOf(0.001) })).min(1).max(20);
const Serve = z.union([z.object({ variant: VariantName }), z.object({ rollout: Rollout.describe('Percent per variant, summing to 100; sticky by murmur3(salt.targetingKey).') })]);
const Rule = z.object({ id: z.string().regex(/^[A-Za-z0-9_-]{1,40}$/), clauses: z.array(Clause).max(20), serve: Serve });
export const EnvironmentBody = z.object({
  enabled: z.boolean(),
  offVariant: VariantName.describe('Served when the environment is off or the kill switch is on.'),
  rules: z.array(Rule).max(50).default([]).describe('First match wins.'),
  fallthrough: Serve.describe('Served when no rule matches.'),
});

export const FlagKeyParams = z.object({ key: Key });
export const IdParams = z.object({ id: z.uuid() });
export const EnvironmentQuery = z.object({ environment: Environment.optional().describe('Default: DEFAULT_ENVIRONMENT.') });

export const FlagBody = z.object({
  type: z.enum(['boolean', 'string', 'number', 'object']),
  description: z.string().max(1_000).default(''),
  variants: z.record(VariantName, JsonValue).refine((v) => Object.keys(v).length >= 1 && Object.keys(v).length <= 20, { message: 'between 1 and 20 variants' }),
  environments: z.record(Environment, EnvironmentBody).refine((e) => Object.keys(e).length >= 1 && Object.keys(e).length <= 10, { message: 'between 1 and 10 environments' }),
  salt: z.string().min(1).max(80).optional().describe('Bucketing salt; default the key. A new salt reshuffles every rollout.'),
  expectedVersion: z.number().int().positive().optional().describe('Replace only if the flag is at this version (409 otherwise).'),
});
export type FlagInput = z.output<typeof FlagBody>;
export type EnvironmentInput = z.output<typeof EnvironmentBody>;

export const FlagResponse = z.object({
  key: z.string(),
  type: z.enum(['boolean', 'string', 'number', 'object']),
  description: z.string(),
  variants: z.record(z.string(), z.unknown()),
  environments: z.record(z.string(), z.unknown()),
  killed: z.boolean(),
  salt: z.string(),
  version: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export const FlagListResponse = z.object({ flags: z.array(FlagResponse) });

export const KillBody = z.object({ killed: z.boolean().describe('true: every environment serves its off variant at once.'), reason: z.string().max(500).optional() });

export const ScheduleBody = z.object({
  applyAt: z.iso.datetime({ offset: true }).describe('When to apply (RFC 3339); a time past applies within a scheduler round.'),
  change: z.union([
    z.object({ environment: Environment, enabled: z.boolean().optional(), rules: z.array(Rule).max(50).optional(), fallthrough: Serve.optional() }),
    z.object({ killed: z.boolean() }),
  ]),
});
export type ScheduledChangeInput = z.output<typeof ScheduleBody>['change'];
export const ScheduledChangeResponse = z.object({ id: z.uuid(), flagKey: z.string(), applyAt: z.string(), change: z.unknown(), actor: z.string(), status: z.enum(['pending', 'applied', 'cancelled', 'failed']), outcome: z.string().nullable() });
export const ScheduledChangeListResponse = z.object({ changes: z.array(ScheduledChangeResponse) });

export const SegmentBody = z.object({
  description: z.string().max(1_000).default(''),
  included: z.array(z.string().min(1).max(200)).max(10_000).default([]),
  excluded: z.array(z.string().min(1).max(200)).max(10_000).default([]),
  clauses: z.array(AttributeClause).max(20).default([]).describe('Every clause must hold (a segment without clauses holds its included keys only).'),
});
export type SegmentInput = z.output<typeof SegmentBody>;
export const SegmentResponse = z.object({ key: z.string(), description: z.string(), included: z.array(z.string()), excluded: z.array(z.string()), clauses: z.array(z.unknown()), version: z.number().int(), updatedAt: z.string() });
export const SegmentListResponse = z.object({ segments: z.array(SegmentResponse) });

export const AuditQuery = z.object({ limit: z.coerce.number().int().min(1).max(500).default(100), before: z.coerce.number().int().positive().optional().describe('Changes with an id below this (paging).') });
export const AuditResponse = z.object({
  changes: z.array(z.object({ id: z.number().int(), entity: z.string(), key: z.string(), action: z.string(), actor: z.string(), before: z.unknown(), after: z.unknown(), at: z.string() })),
});

export const SnapshotResponse = z.object({ tenant: z.string(), environment: z.string(), revision: z.number().int(), flags: z.record(z.string(), z.unknown()), segments: z.record(z.string(), z.unknown()) });

export const OfrepBody = z.object({ context: z.record(z.string(), z.unknown()).default({}).describe('OpenFeature evaluation context; `targetingKey` buckets rollouts, `environment` picks the environment.') });
const OfrepSuccess = z.object({ key: z.string(), value: z.unknown(), reason: z.string(), variant: z.string(), metadata: z.record(z.string(), z.unknown()) });
const OfrepFailure = z.object({ key: z.string(), errorCode: z.string(), errorDetails: z.string() });
export const OfrepSingleResponse = OfrepSuccess;
export const OfrepBulkResponse = z.object({ flags: z.array(z.union([OfrepSuccess, OfrepFailure])) });

export const ExposuresBody = z.object({
  exposures: z.array(z.object({ experiment: Key, flag: Key, variant: VariantName, targetingKey: z.string().min(1).max(200), environment: Environment })).min(1).max(1_000),
});
export const ExposuresResponse = z.object({ accepted: z.number().int(), new: z.number().int() });
export const ConversionsBody = z.object({ conversions: z.array(z.object({ event: Key, targetingKey: z.string().min(1).max(200) })).min(1).max(1_000) });
export const ConversionsResponse = z.object({ accepted: z.number().int() });

export const ExperimentBody = z.object({
  flag: Key,
  environment: Environment.default('production'),
  controlVariant: VariantName,
  metric: Key.describe('The conversion event counted (POST /v1/conversions).'),
  minSamplePerVariant: z.number().int().min(10).max(10_000_000).optional().describe('Exposures each variant needs before a result is shown; default MIN_SAMPLE_PER_VARIANT.'),
});
export const ExperimentResponse = z.object({
  key: z.string(),
  flag: z.string(),
  environment: z.string(),
  controlVariant: z.string(),
  metric: z.string(),
  minSamplePerVariant: z.number().int(),
  status: z.enum(['running', 'stopped']),
  startedAt: z.string(),
  stoppedAt: z.string().nullable(),
});
export const ResultsResponse = z.object({
  experiment: ExperimentResponse,
  test: z.string(),
  alpha: z.number(),
  ready: z.boolean().describe('Every variant has minSamplePerVariant exposures; before that no comparison is shown.'),
  variants: z.array(
    z.object({
      variant: z.string(),
      exposures: z.number().int(),
      conversions: z.number().int(),
      rate: z.number().nullable(),
      expectedShare: z.number(),
      vsControl: z.object({ difference: z.number(), relativeLift: z.number().nullable(), z: z.number(), pValue: z.number(), significant: z.boolean() }).nullable(),
    }),
  ),
  sampleRatio: z.object({ chiSquare: z.number(), degreesOfFreedom: z.number().int(), pValue: z.number(), mismatch: z.boolean().describe('p < 0.001: assignment or exposure logging is broken; do not trust the comparison.') }).nullable(),
});
