import { describe, expect, it } from '@jest/globals';
import { decideRefresh } from './refresh-family.ts';

const now = new Date('2026-12-07T12:00:00Z');
const later = new Date('2026-12-08T12:00:00Z');
const earlier = new Date('2026-12-06T12:00:00Z');
const live = { revokedAt: null, expiresAt: later };

describe('decideRefresh', () => {
  it('when the newest token of a live family is presented, then it rotates', () => {
    expect(decideRefresh({ rotatedAt: null, expiresAt: later }, live, now)).toEqual({ action: 'rotate' });
  });

  it('when a token that was already rotated is presented, then the family is revoked', () => {
    expect(decideRefresh({ rotatedAt: earlier, expiresAt: later }, live, now)).toEqual({ action: 'revoke-family', reason: 'reuse' });
    // even after it expired
    expect(decideRefresh({ rotatedAt: earlier, expiresAt: earlier }, live, now)).toEqual({ action: 'revoke-family', reason: 'reuse' });
  });

  it('when the family is revoked, then every token of it is refused', () => {
    expect(decideRefresh({ rotatedAt: null, expiresAt: later }, { revokedAt: earlier, expiresAt: later }, now)).toEqual({ action: 'refuse', reason: 'revoked' });
    expect(decideRefresh({ rotatedAt: earlier, expiresAt: later }, { revokedAt: earlier, expiresAt: later }, now)).toEqual({ action: 'refuse', reason: 'revoked' });
  });

  it('when the token or the family has expired, then it is refused', () => {
    expect(decideRefresh({ rotatedAt: null, expiresAt: now }, live, now)).toEqual({ action: 'refuse', reason: 'expired' });
    expect(decideRefresh({ rotatedAt: null, expiresAt: later }, { revokedAt: null, expiresAt: earlier }, now)).toEqual({ action: 'refuse', reason: 'expired' });
  });

  it('when the token is unknown, then it is refused', () => {
    expect(decideRefresh(undefined, undefined, now)).toEqual({ action: 'refuse', reason: 'unknown' });
  });
});
