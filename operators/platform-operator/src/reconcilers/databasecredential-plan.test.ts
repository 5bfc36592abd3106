import { describe, expect, it } from '@jest/globals';
import { planRotation, validateSpec, type RotationState } from './databasecredential-plan.ts';

const now = new Date('2026-12-08T00:00:00Z');
const ago = (s: number) => new Date(now.getTime() - s * 1000).toISOString();
const state = (over: Partial<RotationState> = {}): RotationState => ({
  spec: { role: 'catalog', secretName: 'catalog-db', adminSecretRef: { name: 'pg-admin', key: 'url' }, rotationIntervalSeconds: 3600, minFlipIntervalSeconds: 60 },
  secretUser: 'catalog_a',
  lastRotationTime: ago(10),
  requested: undefined,
  lastRequest: undefined,
  now,
  ...over,
});

describe('database credential rotation plan', () => {
  it('when there is no Secret, or it names neither login role, then bootstrap role a', () => {
    expect(planRotation(state({ secretUser: undefined }))).toEqual({ action: 'bootstrap', to: 'catalog_a' });
    expect(planRotation(state({ secretUser: 'someone_else' }))).toEqual({ action: 'bootstrap', to: 'catalog_a' });
  });

  it('when the Secret is right but status has no rotation time, then adopt it (no rotation before a full grace)', () => {
    expect(planRotation(state({ lastRotationTime: undefined }))).toEqual({ action: 'adopt', active: 'catalog_a' });
  });

  it('when the interval has not passed, then wait for the rest of it', () => {
    expect(planRotation(state({ lastRotationTime: ago(600) }))).toEqual({ action: 'wait', active: 'catalog_a', afterMs: 3_000_000, reason: 'schedule' });
  });

  it('when the interval has passed, then rotate the inactive role, alternating a → b → a', () => {
    expect(planRotation(state({ lastRotationTime: ago(3600) }))).toEqual({ action: 'rotate', from: 'catalog_a', to: 'catalog_b', reason: 'schedule' });
    expect(planRotation(state({ secretUser: 'catalog_b', lastRotationTime: ago(7200) }))).toEqual({ action: 'rotate', from: 'catalog_b', to: 'catalog_a', reason: 'schedule' });
  });

  it('when a rotation is requested, then it runs once the last flip is old enough, and a request already acted on is ignored', () => {
    expect(planRotation(state({ requested: 'r1', lastRotationTime: ago(120) }))).toEqual({ action: 'rotate', from: 'catalog_a', to: 'catalog_b', reason: 'requested' });
    expect(planRotation(state({ requested: 'r1', lastRotationTime: ago(10) }))).toEqual({ action: 'wait', active: 'catalog_a', afterMs: 50_000, reason: 'flip-too-recent' });
    expect(planRotation(state({ requested: 'r1', lastRequest: 'r1', lastRotationTime: ago(120) }))).toMatchObject({ action: 'wait', reason: 'schedule' });
  });

  it('when the previously active role could still be in use (the flip is recent), then even an overdue schedule waits', () => {
    expect(planRotation(state({ spec: { ...state().spec, rotationIntervalSeconds: 30, minFlipIntervalSeconds: 30 }, lastRotationTime: ago(20) }))).toMatchObject({ action: 'wait', afterMs: 10_000 });
  });

  it('when the spec is wrong, then the plan says what', () => {
    expect(validateSpec({ ...state().spec, role: 'Bad-Name' })).toMatch(/spec.role/);
    expect(validateSpec({ ...state().spec, groupRole: 'catalog_a' })).toMatch(/groupRole/);
    expect(validateSpec({ ...state().spec, minFlipIntervalSeconds: 7200 })).toMatch(/must not exceed/);
    expect(planRotation(state({ spec: { ...state().spec, rotationIntervalSeconds: 0 } }))).toMatchObject({ action: 'invalid' });
  });
});
