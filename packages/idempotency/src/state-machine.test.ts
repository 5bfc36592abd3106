import { describe, expect, it } from '@jest/globals';
import { canTransition, decide, isReplayable, outcomeOf, type KeyState, type StoredKey } from './state-machine.ts';

const now = new Date('2026-01-01T00:00:00Z');
const later = new Date('2026-01-02T00:00:00Z');
const row = (state: KeyState, over: Partial<StoredKey> = {}): StoredKey => ({ state, fingerprint: 'f', expiresAt: later, attempts: 1, ...over });

describe('decide', () => {
  it('when there is no row, then execute as a fresh first attempt', () => {
    expect(decide(undefined, 'f', now)).toEqual({ kind: 'execute', fresh: true, recovered: false, attempt: 1 });
  });

  it('when the row expired, then it is treated as absent, whatever its fingerprint', () => {
    expect(decide(row('completed', { expiresAt: now, fingerprint: 'other' }), 'f', now)).toEqual({ kind: 'execute', fresh: true, recovered: false, attempt: 1 });
  });

  it('when the fingerprint differs, then mismatch, in every state', () => {
    for (const state of ['started', 'completed', 'failed_retryable', 'failed_final'] as const) {
      expect(decide(row(state, { fingerprint: 'g' }), 'f', now)).toEqual({ kind: 'mismatch' });
    }
  });

  it('when completed or failed_final, then replay', () => {
    expect(decide(row('completed'), 'f', now)).toEqual({ kind: 'replay', state: 'completed' });
    expect(decide(row('failed_final'), 'f', now)).toEqual({ kind: 'replay', state: 'failed_final' });
  });

  it('when started and the caller holds the lock, then the owner crashed: recover with the next attempt', () => {
    expect(decide(row('started', { attempts: 3 }), 'f', now)).toEqual({ kind: 'execute', fresh: false, recovered: true, attempt: 4 });
  });

  it('when failed_retryable, then run again with the next attempt', () => {
    expect(decide(row('failed_retryable', { attempts: 1 }), 'f', now)).toEqual({ kind: 'execute', fresh: false, recovered: false, attempt: 2 });
  });
});

describe('outcomeOf', () => {
  it('when 2xx or 3xx, then completed', () => {
    expect(outcomeOf(200)).toBe('completed');
    expect(outcomeOf(201)).toBe('completed');
    expect(outcomeOf(303)).toBe('completed');
  });

  it('when a client error, then failed_final, except the "try later" ones', () => {
    for (const s of [400, 402, 404, 409, 422]) expect(outcomeOf(s)).toBe('failed_final');
    for (const s of [408, 425, 429]) expect(outcomeOf(s)).toBe('failed_retryable');
  });

  it('when a server error, then failed_retryable', () => {
    for (const s of [500, 502, 503, 504]) expect(outcomeOf(s)).toBe('failed_retryable');
  });
});

describe('transitions', () => {
  it('when a key is new, then it can only start', () => {
    expect(canTransition('none', 'started')).toBe(true);
    expect(canTransition('none', 'completed')).toBe(false);
  });

  it('when a key is final, then nothing follows', () => {
    for (const to of ['started', 'completed', 'failed_retryable', 'failed_final'] as const) {
      expect(canTransition('completed', to)).toBe(false);
      expect(canTransition('failed_final', to)).toBe(false);
    }
  });

  it('when retryable, then only started follows; started leads anywhere (started again = recovery)', () => {
    expect(canTransition('failed_retryable', 'started')).toBe(true);
    expect(canTransition('failed_retryable', 'completed')).toBe(false);
    for (const to of ['started', 'completed', 'failed_retryable', 'failed_final'] as const) expect(canTransition('started', to)).toBe(true);
  });

  it('when every decision leads to a state, then the transition is allowed', () => {
    for (const state of ['started', 'completed', 'failed_retryable', 'failed_final'] as const) {
      const d = decide(row(state), 'f', now);
      if (d.kind === 'execute') expect(canTransition(state, 'started')).toBe(true);
      else expect(isReplayable(state)).toBe(true);
    }
  });
});
