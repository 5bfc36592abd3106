/**
 * The minimum-strength rule of a new password: at least 12 characters
 * (code points, after Unicode NFC) and not one of the commonly used passwords
 * below, compared case-insensitively, also with a trailing run of digits or
 * symbols removed ("Password2024!" is "password"). The list is short on
 * purpose (the most frequent entries of public breach corpora that are 12+
 * characters or become so with a suffix); length does most of the work.
 * docs/DECISIONS.md says why this and not zxcvbn.
 */

export const MIN_PASSWORD_LENGTH = 12;
export const MAX_PASSWORD_LENGTH = 256;

const COMMON = new Set([
  '123456789012',
  '1234567890123',
  'qwertyuiopas',
  'qwertyuiop',
  'qwerty123456',
  '1q2w3e4r5t6y',
  '1qaz2wsx3edc',
  'password',
  'password1234',
  'passwordpassword',
  'passw0rd',
  'p@ssw0rd',
  'p@ssword',
  'iloveyou',
  'letmein',
  'welcome',
  'changeme',
  'administrator',
  'admin',
  'trustno1',
  'football',
  'baseball',
  'superman',
  'sunshine',
  'princess',
  'starwars',
  'whatever',
  'dragon',
  'monkey',
  'shadow',
  'master',
  'qazwsxedc',
  'abcdefghijkl',
  'aaaaaaaaaaaa',
  'correcthorsebatterystaple',
  'bulwark',
]);

export type PasswordProblem = 'too-short' | 'too-long' | 'common';

/** Lower-cased, NFC, with a trailing run of digits and symbols removed. */
function stem(password: string): string {
  return password.normalize('NFC').toLowerCase().replace(/[\d\W_]+$/u, '');
}

/** Why `password` may not be used; empty when it may. */
export function checkPassword(password: string): PasswordProblem[] {
  const problems: PasswordProblem[] = [];
  const length = [...password.normalize('NFC')].length;
  if (length < MIN_PASSWORD_LENGTH) problems.push('too-short');
  if (length > MAX_PASSWORD_LENGTH) problems.push('too-long');
  const lower = password.normalize('NFC').toLowerCase();
  const s = stem(password);
  if (COMMON.has(lower) || COMMON.has(s) || (s.length > 0 && /^(.)\1*$/u.test(s)) || (/^\d+$/.test(lower) && isSequence(lower))) problems.push('common');
  return problems;
}

/** "123456789012", "987654321098": ascending or descending digit runs (wrapping). */
function isSequence(digits: string): boolean {
  const step = (Number(digits[1]) - Number(digits[0]) + 10) % 10;
  if (step !== 1 && step !== 9) return false;
  for (let i = 1; i < digits.length; i++) if ((Number(digits[i]) - Number(digits[i - 1]) + 10) % 10 !== step) return false;
  return true;
}
