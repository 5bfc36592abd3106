import { describe, expect, it } from '@jest/globals';
import { correctedText, toTsQuery } from './query.ts';

describe('toTsQuery', () => {
  it('when words have alternatives, then each word is an OR group and the words are ANDed', () => {
    expect(toTsQuery([{ word: 'wireles', alternatives: ['wireless'] }, { word: 'hedphones', alternatives: ['headphones', 'headphone'] }])).toBe('wireless & (headphones | headphone)');
  });
  it('when a word has no alternative, then it is kept as typed', () => {
    expect(toTsQuery([{ word: 'zzz', alternatives: [] }])).toBe('zzz');
  });
  it('when the last word is a prefix, then each of its alternatives is a :* prefix', () => {
    expect(toTsQuery([{ word: 'red', alternatives: ['red'] }, { word: 'hea', alternatives: ['headphones', 'heater'] }], { prefixLast: true })).toBe('red & (headphones:* | heater:*)');
  });
  it('when there are no words, then the query is empty', () => {
    expect(toTsQuery([])).toBe('');
  });
});

describe('correctedText', () => {
  it('when words were corrected, then the text reads with the first alternative of each', () => {
    expect(correctedText([{ word: 'moka', alternatives: ['moka'] }, { word: 'exprss', alternatives: ['express'] }, { word: 'qq', alternatives: [] }])).toBe('moka express qq');
  });
});
