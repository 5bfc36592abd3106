import { describe, expect, it } from '@jest/globals';
import { maxEditsFor, termsOf, wordsOf } from './text.ts';

describe('wordsOf', () => {
  it('when text has case, accents and punctuation, then it yields folded [a-z0-9] words in order', () => {
    expect(wordsOf('Crème Brûlée — Torch, 2-in-1!')).toEqual(['creme', 'brulee', 'torch', '2', 'in', '1']);
  });
  it('when text is only separators, then there are no words', () => {
    expect(wordsOf(' -- !! ')).toEqual([]);
  });
});

describe('termsOf', () => {
  it('when a product repeats words across name, brand and tags, then each term appears once, sorted, one-letter words dropped', () => {
    expect(termsOf({ name: 'Acme Trail Shoe X', brand: 'Acme', tags: ['trail', 'running'] })).toEqual(['acme', 'running', 'shoe', 'trail']);
  });
});

describe('maxEditsFor', () => {
  it('when a word has one or two characters, then it is taken as typed; three, one edit; longer, two', () => {
    expect([maxEditsFor('g'), maxEditsFor('hd'), maxEditsFor('mug'), maxEditsFor('lamp'), maxEditsFor('headphones')]).toEqual([0, 0, 1, 2, 2]);
  });
});
