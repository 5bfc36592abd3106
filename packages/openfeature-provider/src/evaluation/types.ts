/**
 * The shapes one evaluation reads: a snapshot of one tenant's environment
 * (flags projected onto that environment, and the segments they name) and
 * the caller's context. apps/flags builds snapshots; the provider and the
 * OFREP endpoints evaluate them with `evaluateFlag`.
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export type FlagType = 'boolean' | 'string' | 'number' | 'object';

/** Attribute operators. Missing attributes never match (`notIn` included). */
export type Operator = 'in' | 'notIn' | 'contains' | 'startsWith' | 'endsWith' | 'gt' | 'gte' | 'lt' | 'lte';

export interface AttributeClause {
  /** A context attribute; `targetingKey` names the targeting key. */
  attribute: string;
  op: Operator;
  values: (string | number | boolean)[];
}

export interface SegmentClause {
  segment: string;
  /** true: the clause holds when the context is NOT in the segment. */
  negate?: boolean;
}

export type Clause = AttributeClause | SegmentClause;

/** A named audience: explicit keys in or out, else every clause (at least one) holds. */
export interface Segment {
  key: string;
  included: string[];
  excluded: string[];
  clauses: AttributeClause[];
}

/** Percent (0–100, up to 3 decimals) of the targeting keys that get `variant`. */
export interface WeightedVariant {
  variant: string;
  weight: number;
}

export type Serve = { variant: string } | { rollout: WeightedVariant[] };

export interface Rule {
  id: string;
  /** Every clause must hold (AND); an empty list matches everyone. */
  clauses: Clause[];
  serve: Serve;
}

/** One flag as one environment sees it. */
export interface FlagState {
  key: string;
  type: FlagType;
  variants: Record<string, JsonValue>;
  /** Increments on every change of the flag (any environment). */
  version: number;
  /** Kill switch: every environment serves `offVariant`, whatever the rules say. */
  killed: boolean;
  /** false: this environment serves `offVariant`. */
  enabled: boolean;
  offVariant: string;
  /** First match wins. */
  rules: Rule[];
  /** Served when no rule matches. */
  fallthrough: Serve;
  /** Mixed into the bucketing hash; changing it reshuffles who is in a rollout. Defaults to the key. */
  salt: string;
  /** Present while an A/B experiment runs on this flag: evaluations by rollout are exposures. */
  experiment?: { key: string };
}

export interface Snapshot {
  tenant: string;
  environment: string;
  /** Monotonic per tenant: the id of the last change it includes (SSE Last-Event-ID). */
  revision: number;
  flags: Record<string, FlagState>;
  segments: Record<string, Segment>;
}

export interface EvaluationContext {
  targetingKey?: string;
  [attribute: string]: unknown;
}

/** OpenFeature's reasons, as OFREP carries them. */
export type Reason = 'STATIC' | 'DEFAULT' | 'TARGETING_MATCH' | 'SPLIT' | 'DISABLED';

/** OpenFeature's error codes, as OFREP carries them. */
export type EvaluationErrorCode = 'FLAG_NOT_FOUND' | 'TYPE_MISMATCH' | 'TARGETING_KEY_MISSING' | 'PARSE_ERROR' | 'GENERAL';

export type Resolution =
  | {
      ok: true;
      key: string;
      value: JsonValue;
      variant: string;
      reason: Reason;
      /** The rule that matched, when one did. */
      ruleId?: string;
      /** The targeting key's bucket (0–99,999) when a rollout decided. */
      bucket?: number;
      flagVersion: number;
      /** Set when the flag runs an experiment and a rollout decided: the evaluation is an exposure. */
      experiment?: string;
    }
  | { ok: false; key: string; errorCode: EvaluationErrorCode; message: string };
