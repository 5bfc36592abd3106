/**
 * The one evaluation function of the platform's flags: apps/flags answers
 * OFREP with it and the OpenFeature provider runs it locally on its
 * snapshot, so a flag means the same thing wherever it is read. Pure: no
 * clock, no I/O; the same snapshot and context always give the same answer.
 *
 * Order: kill switch → environment off → first matching rule → fallthrough.
 * A rollout buckets the targeting key by murmur3(salt.targetingKey).
 */
import { bucketOf, BUCKETS } from './murmur3.ts';
import type { AttributeClause, Clause, EvaluationContext, FlagState, FlagType, JsonValue, Reason, Resolution, Segment, Serve, Snapshot } from './types.ts';

export function evaluateFlag(snapshot: Pick<Snapshot, 'flags' | 'segments'>, key: string, context: EvaluationContext, expected?: FlagType): Resolution {
  const flag = snapshot.flags[key];
  if (!flag) return { ok: false, key, errorCode: 'FLAG_NOT_FOUND', message: `no flag ${key}` };
  if (expected !== undefined && expected !== flag.type) return { ok: false, key, errorCode: 'TYPE_MISMATCH', message: `flag ${key} is ${flag.type}, not ${expected}` };
  if (flag.killed || !flag.enabled) return served(flag, flag.offVariant, 'DISABLED');
  for (const rule of flag.rules) {
    if (rule.clauses.every((c) => clauseHolds(c, context, snapshot.segments))) return serve(flag, rule.serve, context, 'TARGETING_MATCH', rule.id);
  }
  return serve(flag, flag.fallthrough, context, flag.rules.length === 0 && 'variant' in flag.fallthrough ? 'STATIC' : 'DEFAULT');
}

function serve(flag: FlagState, how: Serve, context: EvaluationContext, reason: 'TARGETING_MATCH' | 'DEFAULT' | 'STATIC', ruleId?: string): Resolution {
  if ('variant' in how) return served(flag, how.variant, reason, ruleId);
  const targetingKey = context.targetingKey;
  if (typeof targetingKey !== 'string' || targetingKey === '') {
    return { ok: false, key: flag.key, errorCode: 'TARGETING_KEY_MISSING', message: `flag ${flag.key} rolls out by percentage: the context needs a targetingKey` };
  }
  const bucket = bucketOf(flag.salt, targetingKey);
  const variant = pickVariant(how.rollout, bucket);
  const resolution = served(flag, variant, 'SPLIT', ruleId);
  if (!resolution.ok) return resolution;
  return { ...resolution, bucket, ...(flag.experiment ? { experiment: flag.experiment.key } : {}) };
}

/** The variant whose cumulative weight range holds `bucket`; weights are percents with 3 decimals. */
export function pickVariant(rollout: { variant: string; weight: number }[], bucket: number): string {
  let upTo = 0;
  for (const part of rollout) {
    upTo += Math.round(part.weight * (BUCKETS / 100));
    if (bucket < upTo) return part.variant;
  }
  // Weights are validated to sum to 100; rounding leaves the last buckets to the last variant.
  return rollout[rollout.length - 1]!.variant;
}

function served(flag: FlagState, variant: string, reason: Reason, ruleId?: string): Resolution {
  const value: JsonValue | undefined = flag.variants[variant];
  if (value === undefined) return { ok: false, key: flag.key, errorCode: 'GENERAL', message: `flag ${flag.key} serves unknown variant ${variant}` };
  return { ok: true, key: flag.key, value, variant, reason, flagVersion: flag.version, ...(ruleId !== undefined ? { ruleId } : {}) };
}

function clauseHolds(clause: Clause, context: EvaluationContext, segments: Record<string, Segment>): boolean {
  if ('segment' in clause) {
    const segment = segments[clause.segment];
    const inside = segment !== undefined && inSegment(segment, context);
    return clause.negate ? !inside : inside;
  }
  return attributeHolds(clause, context);
}

/** Explicit exclusion first, then explicit inclusion, then every clause (a segment without clauses holds its listed keys only). */
export function inSegment(segment: Segment, context: EvaluationContext): boolean {
  const key = typeof context.targetingKey === 'string' ? context.targetingKey : undefined;
  if (key !== undefined && segment.excluded.includes(key)) return false;
  if (key !== undefined && segment.included.includes(key)) return true;
  return segment.clauses.length > 0 && segment.clauses.every((c) => attributeHolds(c, context));
}

function attributeHolds(clause: AttributeClause, context: EvaluationContext): boolean {
  const actual = context[clause.attribute];
  if (actual === undefined || actual === null) return false;
  // An array attribute (e.g. groups) holds when any element does; notIn when none is listed.
  const values = Array.isArray(actual) ? (actual as unknown[]) : [actual];
  if (clause.op === 'notIn') return values.every((v) => !clause.values.some((w) => w === v));
  return values.some((v) => valueHolds(clause, v));
}

function valueHolds(clause: AttributeClause, actual: unknown): boolean {
  switch (clause.op) {
    case 'in':
      return clause.values.some((w) => w === actual);
    case 'contains':
    case 'startsWith':
    case 'endsWith': {
      if (typeof actual !== 'string') return false;
      const op = clause.op === 'contains' ? 'includes' : clause.op;
      return clause.values.some((w) => typeof w === 'string' && actual[op](w));
    }
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte': {
      const bound = clause.values[0];
      if (typeof actual !== 'number' || typeof bound !== 'number') return false;
      return clause.op === 'gt' ? actual > bound : clause.op === 'gte' ? actual >= bound : clause.op === 'lt' ? actual < bound : actual <= bound;
    }
    default:
      return false;
  }
}
