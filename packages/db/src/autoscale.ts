/**
 * The pool-size decision, kept pure so it can be reasoned about and tested
 * without a database. The pool samples itself every `intervalMs` and feeds the
 * sample here; the returned size becomes the pool's connection cap.
 *
 * Algorithm (one sample = one tick):
 * - pressure: at least one caller is waiting for a connection.
 * - slack: nobody waits and busy / size is below `shrinkBelowUtilisation`.
 * - After `growAfterTicks` consecutive pressure ticks, grow by the number of
 *   waiters, at least `growStep`, at most doubling, never above `max`.
 * - After `shrinkAfterTicks` consecutive slack ticks, shrink by `shrinkStep`,
 *   never below `min` nor below the connections busy right now.
 * - Any resize resets both streaks, so each change must be re-earned: growth
 *   reacts within a couple of ticks, shrinking only after sustained quiet,
 *   which keeps the size from flapping.
 */

export interface AutoscaleConfig {
  min: number;
  max: number;
  /** Consecutive ticks with waiters before growing. */
  growAfterTicks: number;
  /** Consecutive low-utilisation ticks before shrinking. */
  shrinkAfterTicks: number;
  /** busy / size below this (and no waiters) counts as a slack tick. */
  shrinkBelowUtilisation: number;
  /** Minimum growth per resize. */
  growStep: number;
  /** Connections removed per shrink. */
  shrinkStep: number;
}

export const DEFAULT_AUTOSCALE: Omit<AutoscaleConfig, 'min' | 'max'> = {
  growAfterTicks: 2,
  shrinkAfterTicks: 30,
  shrinkBelowUtilisation: 0.5,
  growStep: 2,
  shrinkStep: 1,
};

export interface AutoscaleSample {
  /** Current connection cap. */
  size: number;
  /** Connections checked out right now. */
  busy: number;
  /** Callers queued for a connection. */
  waiting: number;
}

export interface AutoscaleState {
  pressureTicks: number;
  slackTicks: number;
}

export const INITIAL_AUTOSCALE_STATE: AutoscaleState = { pressureTicks: 0, slackTicks: 0 };

export interface AutoscaleDecision {
  size: number;
  reason: 'grow' | 'shrink' | 'hold';
  state: AutoscaleState;
}

export function decidePoolSize(sample: AutoscaleSample, state: AutoscaleState, config: AutoscaleConfig): AutoscaleDecision {
  const size = Math.min(config.max, Math.max(config.min, sample.size));
  const pressure = sample.waiting > 0;
  const slack = !pressure && sample.busy / size < config.shrinkBelowUtilisation;
  const next: AutoscaleState = {
    pressureTicks: pressure ? state.pressureTicks + 1 : 0,
    slackTicks: slack ? state.slackTicks + 1 : 0,
  };

  if (next.pressureTicks >= config.growAfterTicks && size < config.max) {
    const step = Math.max(config.growStep, Math.min(sample.waiting, size));
    return { size: Math.min(config.max, size + step), reason: 'grow', state: INITIAL_AUTOSCALE_STATE };
  }
  if (next.slackTicks >= config.shrinkAfterTicks && size > config.min) {
    const target = Math.max(config.min, sample.busy, size - config.shrinkStep);
    if (target < size) return { size: target, reason: 'shrink', state: INITIAL_AUTOSCALE_STATE };
  }
  return { size, reason: size === sample.size ? 'hold' : size > sample.size ? 'grow' : 'shrink', state: next };
}

/** Throws on a config that cannot work, naming every bad key. */
export function assertAutoscaleConfig(config: AutoscaleConfig): void {
  const problems: string[] = [];
  if (!Number.isInteger(config.min) || config.min < 0) problems.push('min must be an integer >= 0');
  if (!Number.isInteger(config.max) || config.max < 1 || config.max < config.min) problems.push('max must be an integer >= max(1, min)');
  if (!(config.growAfterTicks >= 1)) problems.push('growAfterTicks must be >= 1');
  if (!(config.shrinkAfterTicks >= 1)) problems.push('shrinkAfterTicks must be >= 1');
  if (!(config.shrinkBelowUtilisation > 0 && config.shrinkBelowUtilisation <= 1)) problems.push('shrinkBelowUtilisation must be in (0, 1]');
  if (!(config.growStep >= 1)) problems.push('growStep must be >= 1');
  if (!(config.shrinkStep >= 1)) problems.push('shrinkStep must be >= 1');
  if (problems.length > 0) throw new Error(`invalid pool sizing: ${problems.join('; ')}`);
}
