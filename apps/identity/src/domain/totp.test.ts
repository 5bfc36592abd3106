import { describe, expect, it } from '@jest/globals';
import { HOTP, Secret, TOTP } from 'otpauth';
import { acceptCode, isRecoveryCodeShaped, newRecoveryCodes, newTotpSecret, normalizeRecoveryCode, totpCode } from './totp.ts';

/**
 * RFC 6238 Appendix B: the seeds are the ASCII strings below (20, 32 and 64
 * bytes for SHA-1, SHA-256 and SHA-512), T0 = 0, X = 30, 8 digits.
 */
const SEEDS = {
  SHA1: '12345678901234567890',
  SHA256: '12345678901234567890123456789012',
  SHA512: '1234567890123456789012345678901234567890123456789012345678901234',
} as const;
const VECTORS: [number, string, keyof typeof SEEDS][] = [
  [59, '94287082', 'SHA1'], [59, '46119246', 'SHA256'], [59, '90693936', 'SHA512'],
  [1111111109, '07081804', 'SHA1'], [1111111109, '68084774', 'SHA256'], [1111111109, '25091201', 'SHA512'],
  [1111111111, '14050471', 'SHA1'], [1111111111, '67062674', 'SHA256'], [1111111111, '99943326', 'SHA512'],
  [1234567890, '89005924', 'SHA1'], [1234567890, '91819424', 'SHA256'], [1234567890, '93441116', 'SHA512'],
  [2000000000, '69279037', 'SHA1'], [2000000000, '90698825', 'SHA256'], [2000000000, '38618901', 'SHA512'],
  [20000000000, '65353130', 'SHA1'], [20000000000, '77737706', 'SHA256'], [20000000000, '47863826', 'SHA512'],
];

describe('TOTP', () => {
  it.each(VECTORS)('when T = %i s, then the RFC 6238 code is %s (%s)', (seconds, code, algorithm) => {
    const totp = new TOTP({ algorithm, digits: 8, period: 30, secret: Secret.fromLatin1(SEEDS[algorithm]) });
    expect(totp.generate({ timestamp: seconds * 1000 })).toBe(code);
    expect(totp.validate({ token: code, timestamp: seconds * 1000, window: 0 })).toBe(0);
  });

  it('when the library computes HOTP, then it matches RFC 4226 Appendix D (the building block of TOTP)', () => {
    const hotp = new HOTP({ secret: Secret.fromLatin1(SEEDS.SHA1), digits: 6 });
    expect([0, 1, 2, 9].map((counter) => hotp.generate({ counter }))).toEqual(['755224', '287082', '359152', '520489']);
  });

  it('when a code is checked, then it is accepted for its own step and one step either side, and its step is returned', () => {
    const secret = newTotpSecret();
    const t = 1_700_000_000_000;
    const step = Math.floor(t / 30_000);
    const code = totpCode(secret, t);
    expect(acceptCode(secret, code, t)).toBe(step);
    expect(acceptCode(secret, code, t + 30_000)).toBe(step);
    expect(acceptCode(secret, code, t - 30_000)).toBe(step);
    expect(acceptCode(secret, code, t + 90_000)).toBeUndefined();
    expect(acceptCode(secret, 'abcdef', t)).toBeUndefined();
    expect(acceptCode(secret, '1234567', t)).toBeUndefined();
  });

  it('when recovery codes are made, then they are distinct, 80-bit base32 in groups of four, and normalise from what people type', () => {
    const codes = newRecoveryCodes();
    expect(new Set(codes).size).toBe(10);
    for (const c of codes) expect(c).toMatch(/^[A-Z2-7]{4}(-[A-Z2-7]{4}){3}$/);
    expect(normalizeRecoveryCode(` ${codes[0]!.toLowerCase().replaceAll('-', ' ')} `)).toBe(codes[0]!.replaceAll('-', ''));
    expect(isRecoveryCodeShaped(codes[0]!)).toBe(true);
    expect(isRecoveryCodeShaped('123456')).toBe(false);
  });
});
