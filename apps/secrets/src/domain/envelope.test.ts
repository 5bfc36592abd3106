import { describe, expect, it } from '@jest/globals';
import { formatKeyRing, generateKek, KeyRingError, openValue, parseKeyRing, rewrapKey, sealValue, type KeyRing } from './envelope.ts';

const ring = (active: number, ...versions: number[]): KeyRing => ({ active, keys: new Map(versions.map((v) => [v, generateKek()])) });
const id = { tenant: 't1', name: 'payments/psp-key', version: 1 };
const value = Buffer.from('s3cr3t ✓', 'utf8');

describe('envelope encryption', () => {
  it('when a value is sealed, then it opens to the same bytes and the ciphertext does not contain it', () => {
    const r = ring(1, 1);
    const sealed = sealValue(r, id, value);
    expect(sealed.kekVersion).toBe(1);
    expect(sealed.ciphertext.includes(value)).toBe(false);
    expect(openValue(r, id, sealed).toString('utf8')).toBe('s3cr3t ✓');
  });

  it('when one value is sealed twice, then the ciphertexts and wrapped keys differ (a fresh data key and nonces each time)', () => {
    const r = ring(1, 1);
    const a = sealValue(r, id, value);
    const b = sealValue(r, id, value);
    expect(a.ciphertext.equals(b.ciphertext)).toBe(false);
    expect(a.wrappedKey.equals(b.wrappedKey)).toBe(false);
  });

  it('when a sealed value is opened as another tenant, name or version, then it fails (identity is authenticated data)', () => {
    const r = ring(1, 1);
    const sealed = sealValue(r, id, value);
    for (const other of [{ ...id, tenant: 't2' }, { ...id, name: 'payments/other' }, { ...id, version: 2 }]) expect(() => openValue(r, other, sealed)).toThrow();
  });

  it('when a byte of the ciphertext or the wrapped key is flipped, then opening fails', () => {
    const r = ring(1, 1);
    const sealed = sealValue(r, id, value);
    const flip = (b: Buffer, i: number) => Buffer.from(b.map((x, j) => (j === i ? x ^ 1 : x)));
    expect(() => openValue(r, id, { ...sealed, ciphertext: flip(sealed.ciphertext, 14) })).toThrow();
    expect(() => openValue(r, id, { ...sealed, wrappedKey: flip(sealed.wrappedKey, 20) })).toThrow();
  });

  it('when the KEK is rotated, then the data key is re-wrapped under the new version, the value ciphertext is unchanged and still opens, and the old KEK is no longer needed', () => {
    const old = ring(1, 1);
    const sealed = sealValue(old, id, value);
    const rotated: KeyRing = { active: 2, keys: new Map([...old.keys, [2, generateKek()]]) };
    const rewrapped = rewrapKey(rotated, id, sealed.wrappedKey, sealed.kekVersion);
    expect(rewrapped.kekVersion).toBe(2);
    const withoutOld: KeyRing = { active: 2, keys: new Map([[2, rotated.keys.get(2)!]]) };
    expect(openValue(withoutOld, id, { ciphertext: sealed.ciphertext, ...rewrapped }).toString('utf8')).toBe('s3cr3t ✓');
    expect(() => openValue(withoutOld, id, sealed)).toThrow(KeyRingError);
  });

  it('when a key ring file is parsed, then it round-trips, and a bad one names what is wrong', () => {
    const r = ring(2, 1, 2);
    const back = parseKeyRing(formatKeyRing(r));
    expect(back.active).toBe(2);
    expect([...back.keys.keys()]).toEqual([1, 2]);
    expect(back.keys.get(1)!.equals(r.keys.get(1)!)).toBe(true);
    expect(() => parseKeyRing('nope')).toThrow('not JSON');
    expect(() => parseKeyRing('{"active":3,"keys":{"1":"' + generateKek().toString('base64') + '"}}')).toThrow('active KEK version 3');
    expect(() => parseKeyRing('{"active":1,"keys":{"1":"c2hvcnQ="}}')).toThrow('32 bytes');
    expect(() => parseKeyRing('{"active":0,"keys":{}}')).toThrow('positive integer');
  });
});
