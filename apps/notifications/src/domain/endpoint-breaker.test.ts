import { describe, expect, it } from '@jest/globals';
import { HEALTHY, mayDeliver, recordOutcome, type EndpointHealth } from './endpoint-breaker.ts';

const policy = { openAfter: 3, coolDownMs: 1000, disableAfter: 5 };

function fail(n: number, state: EndpointHealth = HEALTHY): { state: EndpointHealth; events: unknown[] } {
  const events: unknown[] = [];
  for (let i = 0; i < n; i++) {
    const r = recordOutcome(state, false, 10_000, policy);
    state = r.state;
    events.push(r.event);
  }
  return { state, events };
}

describe('endpoint health', () => {
  it('opens the breaker at the threshold and blocks for the cool-down', () => {
    const { state, events } = fail(3);
    expect(events).toEqual([undefined, undefined, 'breaker-opened']);
    expect(mayDeliver(state, 10_500)).toEqual({ ok: false, retryInMs: 500 });
    expect(mayDeliver(state, 11_000)).toEqual({ ok: true, probe: true }); // half-open: one delivery probes
    expect(mayDeliver(HEALTHY, 11_000)).toEqual({ ok: true, probe: false });
  });
  it('disables the endpoint after disableAfter consecutive failures, and stays disabled', () => {
    const { state, events } = fail(5);
    expect(events.at(-1)).toBe('disabled');
    expect(mayDeliver(state, 1e12)).toEqual({ ok: false, retryInMs: undefined });
    expect(recordOutcome(state, true, 0, policy).state.disabled).toBe(true);
  });
  it('a success resets the count and reports recovery of an open breaker', () => {
    const { state } = fail(4);
    expect(recordOutcome(state, true, 0, policy)).toEqual({ state: HEALTHY, event: 'recovered' });
    expect(recordOutcome(fail(2).state, true, 0, policy)).toEqual({ state: HEALTHY, event: undefined });
  });
});
