/**
 * Funnels and cohort retention (pure rules). A funnel counts users through
 * ordered steps: step 1 is the user's first event of its type in the range,
 * each later step the first event of its type after the previous step and
 * within `windowSeconds` of step 1. Retention groups users by the period
 * (day or week, UTC; weeks start on Monday) of their first `cohortType`
 * event in the range and counts, for each later period k, those who did a
 * `returnType` event in it.
 */
import type { EventScope } from './series.ts';

export const MAX_FUNNEL_STEPS = 8;
export const PERIODS = ['day', 'week'] as const;
export type Period = (typeof PERIODS)[number];
export const PERIOD_MS: Record<Period, number> = { day: 86_400_000, week: 7 * 86_400_000 };
/** date_bin origins: 2000-01-03 is a Monday, so week buckets start on Mondays. */
export const PERIOD_ORIGIN = '2000-01-03T00:00:00Z';

export interface FunnelQuery extends EventScope {
  steps: string[];
  windowSeconds: number;
}

export interface FunnelStep {
  type: string;
  users: number;
  /** users / users of the previous step (1 for the first). */
  fromPrevious: number;
  /** users / users of step 1. */
  fromFirst: number;
}

export interface RetentionQuery extends EventScope {
  cohortType: string;
  returnType: string;
  period: Period;
  periods: number;
}

export interface Cohort {
  start: Date;
  size: number;
  /** Users of the cohort active in period k after its start, k = 0 … periods-1. */
  retained: number[];
}

export function funnelProblem(q: FunnelQuery): string | undefined {
  if (q.from.getTime() >= q.to.getTime()) return 'from must precede to';
  if (q.steps.length < 2 || q.steps.length > MAX_FUNNEL_STEPS) return `a funnel has 2 to ${MAX_FUNNEL_STEPS} steps`;
  return undefined;
}

/** The funnel's ratios from the users who reached each step. */
export function funnelSteps(types: readonly string[], users: readonly number[]): FunnelStep[] {
  return types.map((type, i) => {
    const n = users[i] ?? 0;
    const prev = i === 0 ? n : (users[i - 1] ?? 0);
    const first = users[0] ?? 0;
    return { type, users: n, fromPrevious: prev === 0 ? 0 : n / prev, fromFirst: first === 0 ? 0 : n / first };
  });
}

export function retentionProblem(q: RetentionQuery, maxCohorts: number): string | undefined {
  if (q.from.getTime() >= q.to.getTime()) return 'from must precede to';
  if ((q.to.getTime() - q.from.getTime()) / PERIOD_MS[q.period] > maxCohorts) return `the range spans more than ${maxCohorts} ${q.period} cohorts`;
  return undefined;
}

/** Start of the period holding `at` (UTC; weeks from Monday). */
export function periodStart(at: Date, period: Period): Date {
  const origin = Date.parse(PERIOD_ORIGIN);
  const size = PERIOD_MS[period];
  return new Date(origin + Math.floor((at.getTime() - origin) / size) * size);
}

/** Cohorts from (cohort, size, k, users) rows: every k present, 0 where nobody returned. */
export function cohortsOf(rows: readonly { cohort: Date; size: number; k: number | null; users: number }[], periods: number): Cohort[] {
  const byStart = new Map<number, Cohort>();
  for (const r of rows) {
    let c = byStart.get(r.cohort.getTime());
    if (!c) byStart.set(r.cohort.getTime(), (c = { start: r.cohort, size: r.size, retained: Array.from({ length: periods }, () => 0) }));
    if (r.k !== null && r.k >= 0 && r.k < periods) c.retained[r.k] = r.users;
  }
  return [...byStart.values()].sort((a, b) => a.start.getTime() - b.start.getTime());
}
