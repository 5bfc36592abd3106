import { createHmac } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { parseSignatureHeader, signatureHeader, verifySignature } from './signature.ts';

const body = JSON.stringify({ id: 'evt_1', type: 'payment.captured', amount: 1250 });
const T = 1_800_000_000;

describe('signatureHeader', () => {
  it('signs "<t>.<body>" with HMAC-SHA256, one v1 per secret', () => {
    const header = signatureHeader(body, ['old', 'new'], T);
    const expected = (secret: string) => createHmac('sha256', secret).update(`${T}.${body}`).digest('hex');
    expect(header).toBe(`t=${T},v1=${expected('old')},v1=${expected('new')}`);
  });

  it('signs bytes and strings alike', () => {
    expect(signatureHeader(Buffer.from(body), ['s'], T)).toBe(signatureHeader(body, ['s'], T));
  });

  it('refuses to sign without a secret or with an empty one', () => {
    expect(() => signatureHeader(body, [], T)).toThrow(/at least one/);
    expect(() => signatureHeader(body, [''], T)).toThrow(/empty/);
    expect(() => signatureHeader(body, ['s'], -1)).toThrow(/non-negative/);
  });
});

describe('verifySignature', () => {
  const at = { nowSeconds: T + 10 };

  it('accepts a signature by an active secret', () => {
    expect(verifySignature(signatureHeader(body, ['current'], T), body, ['current'], at)).toEqual({ ok: true, timestamp: T });
  });

  it('accepts during rotation in both directions', () => {
    // Sender already signs with both, receiver still knows only the old one.
    expect(verifySignature(signatureHeader(body, ['old', 'new'], T), body, ['old'], at).ok).toBe(true);
    // Sender signs with the old one only, receiver already accepts both.
    expect(verifySignature(signatureHeader(body, ['old'], T), body, ['new', 'old'], at).ok).toBe(true);
  });

  it('rejects a retired secret', () => {
    expect(verifySignature(signatureHeader(body, ['retired'], T), body, ['new'], at)).toEqual({ ok: false, reason: 'mismatch' });
  });

  it('rejects a tampered body and a tampered timestamp', () => {
    const header = signatureHeader(body, ['s'], T);
    expect(verifySignature(header, body.replace('1250', '9999'), ['s'], at)).toEqual({ ok: false, reason: 'mismatch' });
    expect(verifySignature(header.replace(`t=${T}`, `t=${T + 1}`), body, ['s'], at)).toEqual({ ok: false, reason: 'mismatch' });
  });

  it('rejects replays outside the tolerance, before looking at the signature', () => {
    const header = signatureHeader(body, ['s'], T);
    expect(verifySignature(header, body, ['s'], { nowSeconds: T + 301 })).toEqual({ ok: false, reason: 'stale' });
    expect(verifySignature(header, body, ['s'], { nowSeconds: T + 300 }).ok).toBe(true);
    expect(verifySignature(header, body, ['s'], { nowSeconds: T - 301 })).toEqual({ ok: false, reason: 'future' });
    expect(verifySignature(header, body, ['s'], { nowSeconds: T + 30, toleranceSeconds: 10 })).toEqual({ ok: false, reason: 'stale' });
  });

  it('reports missing and malformed headers', () => {
    expect(verifySignature(undefined, body, ['s'], at)).toEqual({ ok: false, reason: 'missing' });
    expect(verifySignature('', body, ['s'], at)).toEqual({ ok: false, reason: 'missing' });
    for (const bad of ['garbage', `t=${T}`, 'v1=' + 'a'.repeat(64), `t=abc,v1=${'a'.repeat(64)}`, `t=${T},v1=xyz`, `t=${T},t=${T},v1=${'a'.repeat(64)}`]) {
      expect(verifySignature(bad, body, ['s'], at)).toEqual({ ok: false, reason: 'malformed' });
    }
  });

  it('ignores unknown schemes next to a valid v1', () => {
    const header = `${signatureHeader(body, ['s'], T)},v0=deadbeef`;
    expect(verifySignature(header, body, ['s'], at).ok).toBe(true);
  });
});

describe('parseSignatureHeader', () => {
  it('tolerates spaces around parts', () => {
    const parsed = parseSignatureHeader(`t=${T}, v1=${'ab'.repeat(32)}`);
    expect(parsed?.timestamp).toBe(T);
    expect(parsed?.signatures).toHaveLength(1);
  });
});
