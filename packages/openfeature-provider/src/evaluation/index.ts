/**
 * The pure half of the flags platform, without the OpenFeature SDK: types,
 * the evaluation function and the bucketing hash (apps/flags imports this
 * subpath; services import the provider from the package root).
 */
export { evaluateFlag, pickVariant, inSegment } from './evaluate.ts';
export { murmur3, bucketOf, BUCKETS } from './murmur3.ts';
export type { AttributeClause, Clause, EvaluationContext, EvaluationErrorCode, FlagState, FlagType, JsonValue, Operator, Reason, Resolution, Rule, Segment, SegmentClause, Serve, Snapshot, WeightedVariant } from './types.ts';
