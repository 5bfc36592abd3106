import { describe, expect, it } from '@jest/globals';
import { checkPassword } from './password-rule.ts';

describe('checkPassword', () => {
  it('when a password is 12+ characters and not common, then it is accepted', () => {
    expect(checkPassword('violet-harbour-lamp')).toEqual([]);
    expect(checkPassword('ÄÖÜäöüßéèêëç')).toEqual([]);
  });

  it('when a password is shorter than 12 characters, then it is too short', () => {
    expect(checkPassword('short-pw')).toEqual(['too-short']);
    // 11 code points of 2 UTF-16 units each is still short
    expect(checkPassword('😀'.repeat(11))).toContain('too-short');
  });

  it('when a password is a common one, even with a digit or symbol suffix or other case, then it is refused', () => {
    expect(checkPassword('password1234')).toEqual(['common']);
    expect(checkPassword('Password2024!')).toEqual(['common']);
    expect(checkPassword('PASSWORDPASSWORD')).toEqual(['common']);
    expect(checkPassword('qwerty123456')).toEqual(['common']);
  });

  it('when a password is one repeated character or a digit run, then it is refused', () => {
    expect(checkPassword('zzzzzzzzzzzzzz')).toEqual(['common']);
    expect(checkPassword('345678901234')).toEqual(['common']);
    expect(checkPassword('987654321098')).toEqual(['common']);
  });

  it('when a password is longer than 256 characters, then it is too long', () => {
    expect(checkPassword('x'.repeat(100) + 'y'.repeat(200))).toEqual(['too-long']);
  });
});
