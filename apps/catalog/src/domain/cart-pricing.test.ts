import { describe, expect, it } from '@jest/globals';
import type { CartLine, CurrentVariant } from '../store/cart-store.ts';
import { MAX_LINE_QUANTITY, mergeLines, repriceLines, shortagesOf } from './cart-pricing.ts';

const line = (sku: string, quantity: number, amount: number): CartLine => ({ sku, productId: `p-${sku}`, name: sku, quantity, unitPrice: { amount, currency: 'EUR' } });
const variant = (sku: string, amount: number, currency = 'EUR'): [string, CurrentVariant] => [sku, { sku, productId: `p-${sku}`, name: `${sku} today`, price: { amount, currency } }];

describe('repriceLines', () => {
  it('when every snapshot matches today, then nothing changed and the lines keep their prices', () => {
    const r = repriceLines([line('a', 1, 100), line('b', 2, 200)], new Map([variant('a', 100), variant('b', 200)]));
    expect(r.changed).toEqual([]);
    expect(r.unavailable).toEqual([]);
    expect(r.lines.map((l) => l.unitPrice.amount)).toEqual([100, 200]);
  });

  it('when a price or currency moved, then the change names both prices and the line takes today\'s', () => {
    const r = repriceLines([line('a', 1, 100), line('b', 1, 200)], new Map([variant('a', 120), variant('b', 200, 'USD')]));
    expect(r.changed).toEqual([
      { sku: 'a', was: { amount: 100, currency: 'EUR' }, now: { amount: 120, currency: 'EUR' } },
      { sku: 'b', was: { amount: 200, currency: 'EUR' }, now: { amount: 200, currency: 'USD' } },
    ]);
    expect(r.lines[0]).toMatchObject({ name: 'a today', unitPrice: { amount: 120 } });
  });

  it('when a variant is gone, then it is unavailable and dropped', () => {
    const r = repriceLines([line('a', 1, 100), line('gone', 1, 5)], new Map([variant('a', 100)]));
    expect(r.unavailable).toEqual(['gone']);
    expect(r.lines.map((l) => l.sku)).toEqual(['a']);
  });
});

describe('mergeLines', () => {
  it('when both carts hold a SKU, then quantities add up under the cap and the user\'s snapshot stays', () => {
    const merged = mergeLines([line('a', 2, 100), line('b', MAX_LINE_QUANTITY - 1, 1)], [line('a', 3, 90), line('b', 5, 1), line('c', 1, 7)]);
    expect(merged).toEqual([line('a', 5, 100), line('b', MAX_LINE_QUANTITY, 1), line('c', 1, 7)]);
  });
});

describe('shortagesOf', () => {
  it('when a line wants more than is available or the SKU is unknown, then it is short', () => {
    const short = shortagesOf([{ sku: 'a', quantity: 2 }, { sku: 'b', quantity: 5 }, { sku: 'c', quantity: 1 }], new Map([['a', 2], ['b', 4]]));
    expect(short).toEqual([{ sku: 'b', requested: 5, available: 4 }, { sku: 'c', requested: 1, available: 0 }]);
  });
});
