import { describe, expect, it } from '@jest/globals';
import { correctedText, planSuggest, toTsQuery } from './query.ts';

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

describe('planSuggest', () => {
  it('when a rare whole word comes before a common prefix, then the index is asked for the whole word and hits are bounded by it', () => {
    const plan = planSuggest([{ word: 'lgeo', alternatives: ['lego'], df: 3 }], 'm', [{ term: 'modern', df: 60_000 }, { term: 'mini', df: 60_000 }]);
    expect(plan).toEqual({ tsquery: 'lego & (modern:* | mini:*)', estimatedHits: 3, narrow: 'lego' });
  });
  it('when the prefix is rarer than the whole words, then the full query goes to the index', () => {
    expect(planSuggest([{ word: 'black', alternatives: ['black'], df: 125_000 }], 'kitchena', [{ term: 'kitchenaid', df: 2 }])).toEqual({ tsquery: 'black & kitchenaid:*', estimatedHits: 2 });
  });
  it('when there is only a prefix, then its completions together bound the hits; none: the prefix as typed, 0', () => {
    expect(planSuggest([], 'cas', [{ term: 'case', df: 15_000 }, { term: 'cast', df: 20 }])).toEqual({ tsquery: '(case:* | cast:*)', estimatedHits: 15_020 });
    expect(planSuggest([], 'qqq', [])).toEqual({ tsquery: 'qqq:*', estimatedHits: 0 });
  });
});
