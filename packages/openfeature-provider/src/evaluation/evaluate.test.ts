import { describe, expect, it } from '@jest/globals';
import { evaluateFlag } from './evaluate.ts';
import { bucketOf, murmur3 } from './murmur3.ts';
import type { FlagState, Snapshot } from './types.ts';

function flag(over: Partial<FlagState> = {}): FlagState {
  return { key: 'f', type: 'boolean', variants: { on: true, off: false }, version: 1, killed: false, enabled: true, offVariant: 'off', rules: [], fallthrough: { variant: 'on' }, salt: 'f', ...over };
}
function snap(flags: FlagState[], segments: Snapshot['segments'] = {}): Snapshot {
  return { tenant: 't', environment: 'production', revision: 1, flags: Object.fromEntries(flags.map((f) => [f.key, f])), segments };
}

/**
 * Bounds of a rollout count, derived rather than guessed: with uniform
 * buckets each of n keys lands in a variant of weight p independently, so
 * the count is Binomial(n, p), close to Normal(np, np(1-p)) at n = 100,000.
 * Allowing Z = 5 standard deviations, a correct hash fails a check with
 * probability P(|N(0,1)| > 5) ≈ 5.7e-7; a hash biased by even 1 point
 * (1,000 keys) is caught, since 5σ at p = 0.5 is 791 keys.
 */
const N = 100_000;
const Z = 5;
function within(count: number, p: number): void {
  const sigma = Math.sqrt(N * p * (1 - p));
  expect(Math.abs(count - N * p)).toBeLessThanOrEqual(Z * sigma);
}
const keys = Array.from({ length: N }, (_, i) => `user-${i}`);

describe('murmur3', () => {
  it('when hashing the reference inputs, then it gives the published x86_32 values', () => {
    expect(murmur3('')).toBe(0);
    expect(murmur3('', 1)).toBe(0x514e28b7);
    expect(murmur3('hello')).toBe(0x248bfa47);
    expect(murmur3('The quick brown fox jumps over the lazy dog')).toBe(0x2e4ff723);
  });
});

describe('evaluateFlag rollouts on 100,000 keys', () => {
  it.each([
    [[50, 50]],
    [[10, 90]],
    [[33.333, 33.333, 33.334]],
    [[1, 4, 95]],
  ])('when the weights are %j, then each variant count is within 5σ of its binomial mean', (weights) => {
    const variants = Object.fromEntries(weights.map((_, i) => [`v${i}`, `value-${i}`]));
    const f = flag({ type: 'string', variants, offVariant: 'v0', fallthrough: { rollout: weights.map((weight, i) => ({ variant: `v${i}`, weight })) } });
    const s = snap([f]);
    const counts = new Map<string, number>();
    for (const targetingKey of keys) {
      const r = evaluateFlag(s, 'f', { targetingKey });
      if (!r.ok || r.reason !== 'SPLIT') throw new Error(`unexpected ${JSON.stringify(r)}`);
      counts.set(r.variant, (counts.get(r.variant) ?? 0) + 1);
    }
    weights.forEach((w, i) => within(counts.get(`v${i}`) ?? 0, w / 100));
  });

  it('when a rollout grows from 10% to 20%, then every key that had the variant keeps it (sticky), and the same key always gets the same answer', () => {
    const at = (weight: number) => snap([flag({ fallthrough: { rollout: [{ variant: 'on', weight }, { variant: 'off', weight: 100 - weight }] } })]);
    const ten = at(10);
    const twenty = at(20);
    let on10 = 0;
    let on20 = 0;
    for (const targetingKey of keys) {
      const a = evaluateFlag(ten, 'f', { targetingKey });
      const b = evaluateFlag(twenty, 'f', { targetingKey });
      if (!a.ok || !b.ok) throw new Error('evaluation failed');
      if (a.value === true) {
        on10++;
        expect(b.value).toBe(true);
      }
      if (b.value === true) on20++;
    }
    within(on10, 0.1);
    within(on20, 0.2);
    expect(evaluateFlag(ten, 'f', { targetingKey: 'user-42' })).toEqual(evaluateFlag(ten, 'f', { targetingKey: 'user-42' }));
  });

  it('when two flags roll out 50% each, then their buckets are independent: the overlap is within 5σ of 25%', () => {
    let both = 0;
    for (const k of keys) if (bucketOf('flag-a', k) < 50_000 && bucketOf('flag-b', k) < 50_000) both++;
    within(both, 0.25);
  });
});

describe('evaluateFlag targeting', () => {
  const beta = { key: 'beta', included: ['vip-1'], excluded: ['banned-1'], clauses: [{ attribute: 'email', op: 'endsWith' as const, values: ['@bulwark.test'] }] };
  const f = flag({
    type: 'string',
    variants: { a: 'A', b: 'B', c: 'C', off: 'OFF' },
    rules: [
      { id: 'beta', clauses: [{ segment: 'beta' }], serve: { variant: 'a' } },
      { id: 'big-eu', clauses: [{ attribute: 'country', op: 'in', values: ['DE', 'FR'] }, { attribute: 'seats', op: 'gte', values: [100] }], serve: { variant: 'b' } },
    ],
    fallthrough: { variant: 'c' },
  });
  const s = snap([f], { beta });

  it('when the context matches a rule, then the first matching rule serves with TARGETING_MATCH and its id', () => {
    expect(evaluateFlag(s, 'f', { targetingKey: 'u', email: 'x@bulwark.test', country: 'DE', seats: 500 })).toMatchObject({ ok: true, value: 'A', reason: 'TARGETING_MATCH', ruleId: 'beta' });
    expect(evaluateFlag(s, 'f', { targetingKey: 'u', country: 'FR', seats: 100 })).toMatchObject({ value: 'B', ruleId: 'big-eu' });
  });

  it('when a segment lists a key in or out, then the list wins over its clauses', () => {
    expect(evaluateFlag(s, 'f', { targetingKey: 'vip-1' })).toMatchObject({ value: 'A' });
    expect(evaluateFlag(s, 'f', { targetingKey: 'banned-1', email: 'b@bulwark.test' })).toMatchObject({ value: 'C', reason: 'DEFAULT' });
  });

  it('when no rule matches or an attribute is missing or of another type, then the fallthrough serves with DEFAULT', () => {
    expect(evaluateFlag(s, 'f', { targetingKey: 'u', country: 'DE', seats: 99 })).toMatchObject({ value: 'C', reason: 'DEFAULT' });
    expect(evaluateFlag(s, 'f', { targetingKey: 'u', country: 'DE', seats: '500' })).toMatchObject({ value: 'C' });
    expect(evaluateFlag(s, 'f', {})).toMatchObject({ value: 'C' });
  });

  it('when the kill switch is on or the environment is off, then the off variant serves with DISABLED before any rule', () => {
    expect(evaluateFlag(snap([{ ...f, killed: true }], { beta }), 'f', { targetingKey: 'vip-1' })).toMatchObject({ value: 'OFF', variant: 'off', reason: 'DISABLED' });
    expect(evaluateFlag(snap([{ ...f, enabled: false }], { beta }), 'f', { targetingKey: 'vip-1' })).toMatchObject({ reason: 'DISABLED' });
  });

  it('when an array attribute is given, then in holds if any element is listed and notIn only if none is', () => {
    const g = flag({ rules: [{ id: 'r', clauses: [{ attribute: 'groups', op: 'notIn', values: ['staff'] }], serve: { variant: 'off' } }] });
    expect(evaluateFlag(snap([g]), 'f', { groups: ['eu', 'staff'] })).toMatchObject({ value: true });
    expect(evaluateFlag(snap([g]), 'f', { groups: ['eu'] })).toMatchObject({ value: false, ruleId: 'r' });
  });

  it('when the flag is missing, of another type, or rolls out without a targeting key, then the OpenFeature error code says so', () => {
    expect(evaluateFlag(s, 'nope', {})).toMatchObject({ ok: false, errorCode: 'FLAG_NOT_FOUND' });
    expect(evaluateFlag(s, 'f', {}, 'boolean')).toMatchObject({ ok: false, errorCode: 'TYPE_MISMATCH' });
    const r = flag({ fallthrough: { rollout: [{ variant: 'on', weight: 50 }, { variant: 'off', weight: 50 }] }, experiment: { key: 'exp-1' } });
    expect(evaluateFlag(snap([r]), 'f', {})).toMatchObject({ ok: false, errorCode: 'TARGETING_KEY_MISSING' });
    expect(evaluateFlag(snap([r]), 'f', { targetingKey: 'k' })).toMatchObject({ ok: true, reason: 'SPLIT', experiment: 'exp-1' });
  });
});
