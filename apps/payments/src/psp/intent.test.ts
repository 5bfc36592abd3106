import { describe, expect, it } from '@jest/globals';
import { applyCommand, authorize, isNewer, type PaymentIntent } from './intent.ts';

const authorized = (): PaymentIntent => authorize({ id: 'pi_1', amount: 1000, currency: 'EUR', createdAt: '2026-12-07T00:00:00.000Z' }).intent;

function ok(intent: PaymentIntent, command: Parameters<typeof applyCommand>[1]): PaymentIntent {
  const r = applyCommand(intent, command);
  if (!r.ok) throw new Error(`expected ok, got ${r.reason}`);
  return r.intent;
}

describe('payment intent state machine', () => {
  it('when authorized, then version 1 and the transition says authorized for the amount', () => {
    const { intent, transition } = authorize({ id: 'pi_1', amount: 1000, currency: 'EUR', metadata: { orderId: 'o1' }, createdAt: '2026-12-07T00:00:00.000Z' });
    expect(intent).toMatchObject({ status: 'authorized', version: 1, amountCaptured: 0, amountRefunded: 0, declineCode: null, metadata: { orderId: 'o1' } });
    expect(transition).toEqual({ kind: 'authorized', amount: 1000, version: 1 });
    expect(intent.lastTransition).toEqual(transition);
  });

  it('when declined, then status declined with the code and nothing can follow', () => {
    const { intent, transition } = authorize({ id: 'pi_1', amount: 1000, currency: 'EUR', createdAt: '2026-12-07T00:00:00.000Z' }, 'card_declined');
    expect(intent.status).toBe('declined');
    expect(intent.declineCode).toBe('card_declined');
    expect(transition.kind).toBe('declined');
    for (const c of [{ type: 'capture' }, { type: 'void' }, { type: 'refund' }] as const) expect(applyCommand(intent, c)).toMatchObject({ ok: false, reason: 'invalid_state' });
  });

  it('when captured in full by default, then captured with version 2', () => {
    const r = applyCommand(authorized(), { type: 'capture' });
    expect(r).toMatchObject({ ok: true, intent: { status: 'captured', amountCaptured: 1000, version: 2 }, transition: { kind: 'captured', amount: 1000, version: 2 } });
  });

  it('when capturing more than authorized or a non-positive amount, then refused without change', () => {
    const a = authorized();
    expect(applyCommand(a, { type: 'capture', amount: 1001 })).toMatchObject({ ok: false, reason: 'amount_too_large' });
    expect(applyCommand(a, { type: 'capture', amount: 0 })).toMatchObject({ ok: false, reason: 'invalid_amount' });
    expect(a.status).toBe('authorized');
  });

  it('when voided, then capture and refund are impossible', () => {
    const v = ok(authorized(), { type: 'void' });
    expect(v).toMatchObject({ status: 'voided', version: 2 });
    expect(applyCommand(v, { type: 'capture' })).toMatchObject({ ok: false, reason: 'invalid_state' });
    expect(applyCommand(v, { type: 'refund' })).toMatchObject({ ok: false, reason: 'invalid_state' });
    expect(applyCommand(v, { type: 'void' })).toMatchObject({ ok: false, reason: 'invalid_state' });
  });

  it('when refunded partially then the rest, then partially_refunded then refunded, each a new version', () => {
    const c = ok(authorized(), { type: 'capture', amount: 800 });
    const p = ok(c, { type: 'refund', amount: 300 });
    expect(p).toMatchObject({ status: 'partially_refunded', amountRefunded: 300, version: 3, lastTransition: { kind: 'refunded', amount: 300, version: 3 } });
    expect(applyCommand(p, { type: 'refund', amount: 501 })).toMatchObject({ ok: false, reason: 'amount_too_large' });
    const r = ok(p, { type: 'refund' });
    expect(r).toMatchObject({ status: 'refunded', amountRefunded: 800, version: 4, lastTransition: { amount: 500 } });
    expect(applyCommand(r, { type: 'refund', amount: 1 })).toMatchObject({ ok: false, reason: 'invalid_state' });
  });

  it('when refunding before capture or voiding after capture, then invalid state', () => {
    expect(applyCommand(authorized(), { type: 'refund' })).toMatchObject({ ok: false, reason: 'invalid_state' });
    expect(applyCommand(ok(authorized(), { type: 'capture' }), { type: 'void' })).toMatchObject({ ok: false, reason: 'invalid_state' });
  });

  it('never mutates its input', () => {
    const a = authorized();
    const copy = structuredClone(a);
    applyCommand(a, { type: 'capture' });
    expect(a).toEqual(copy);
  });

  it('orders snapshots by version only', () => {
    expect(isNewer(undefined, { version: 1 })).toBe(true);
    expect(isNewer({ version: 2 }, { version: 3 })).toBe(true);
    expect(isNewer({ version: 3 }, { version: 3 })).toBe(false);
    expect(isNewer({ version: 3 }, { version: 2 })).toBe(false);
  });
});
