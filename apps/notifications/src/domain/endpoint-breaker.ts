/**
 * The endpoint breaker (per-endpoint health): consecutive failures open the endpoint's breaker for
 * a cool-down (deliveries wait instead of hammering a dead receiver), and
 * after `disableAfter` consecutive failures the endpoint is disabled with a
 * notice. After the cool-down one delivery probes (half-open); its success,
 * like any success, closes the breaker and resets the count. Pure state
 * transitions; the caller persists the state, claims the probe and sends the
 * notice.
 */
export interface HealthPolicy {
  /** Consecutive failures that open the breaker (default 5). */
  openAfter: number;
  /** Breaker cool-down, ms (default 60 s). */
  coolDownMs: number;
  /** Consecutive failures that disable the endpoint (default 50). */
  disableAfter: number;
}

export const DEFAULT_HEALTH_POLICY: HealthPolicy = { openAfter: 5, coolDownMs: 60_000, disableAfter: 50 };

export interface EndpointHealth {
  consecutiveFailures: number;
  /** Breaker open until this time (ms since epoch), or undefined when closed. */
  openUntil: number | undefined;
  disabled: boolean;
}

export const HEALTHY: EndpointHealth = { consecutiveFailures: 0, openUntil: undefined, disabled: false };

export type HealthEvent = 'breaker-opened' | 'disabled' | 'recovered' | undefined;

export function recordOutcome(state: EndpointHealth, ok: boolean, nowMs: number, policy: HealthPolicy = DEFAULT_HEALTH_POLICY): { state: EndpointHealth; event: HealthEvent } {
  if (state.disabled) return { state, event: undefined };
  if (ok) {
    return { state: HEALTHY, event: state.consecutiveFailures >= policy.openAfter ? 'recovered' : undefined };
  }
  const failures = state.consecutiveFailures + 1;
  if (failures >= policy.disableAfter) return { state: { consecutiveFailures: failures, openUntil: undefined, disabled: true }, event: 'disabled' };
  if (failures >= policy.openAfter) {
    return { state: { consecutiveFailures: failures, openUntil: nowMs + policy.coolDownMs, disabled: false }, event: failures === policy.openAfter ? 'breaker-opened' : undefined };
  }
  return { state: { consecutiveFailures: failures, openUntil: undefined, disabled: false }, event: undefined };
}

/**
 * Whether a delivery may be attempted now; when not, how long to wait
 * (undefined: never, disabled). After the cool-down the breaker is half-open:
 * `probe` says the caller must first win the single probe (the others wait
 * for its verdict; a success closes the breaker and releases them).
 */
export function mayDeliver(state: EndpointHealth, nowMs: number): { ok: true; probe: boolean } | { ok: false; retryInMs: number | undefined } {
  if (state.disabled) return { ok: false, retryInMs: undefined };
  if (state.openUntil !== undefined && nowMs < state.openUntil) return { ok: false, retryInMs: state.openUntil - nowMs };
  return { ok: true, probe: state.openUntil !== undefined };
}
