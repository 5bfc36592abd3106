import { describe, expect, it } from '@jest/globals';
import { boundedLevenshtein, Vocabulary } from './vocabulary.ts';

describe('boundedLevenshtein', () => {
  it('when the words are within k edits, then it is their distance', () => {
    expect(boundedLevenshtein('kindle', 'kindle', 2)).toBe(0);
    expect(boundedLevenshtein('kindel', 'kindle', 2)).toBe(2);
    expect(boundedLevenshtein('aeropres', 'aeropress', 2)).toBe(1);
    expect(boundedLevenshtein('', 'ab', 2)).toBe(2);
  });
  it('when they are further apart (or their lengths differ by more than k), then it is above k', () => {
    expect(boundedLevenshtein('garmin', 'vitamix', 2)).toBeGreaterThan(2);
    expect(boundedLevenshtein('ab', 'abcdef', 2)).toBeGreaterThan(2);
    expect(boundedLevenshtein('abc', 'xyz', 0)).toBeGreaterThan(0);
  });
});

const vocabulary = new Vocabulary([
  { term: 'headphones', df: 40 },
  { term: 'headset', df: 10 },
  { term: 'heater', df: 10 },
  { term: 'hydration', df: 8 },
  { term: 'hydro', df: 1 },
  { term: 'kindle', df: 1 },
  { term: 'kettle', df: 30 },
  { term: 'unused', df: 0 },
]);

describe('Vocabulary.candidates', () => {
  it('when a word is known, then it is known with its product count and is its own only candidate', () => {
    expect(vocabulary.candidates(['kindle'], [2])).toEqual([{ word: 'kindle', known: true, candidates: ['kindle'], df: 1 }]);
  });
  it('when a word is unknown, then its candidates are the closest, then the most used, then in C order, at most 3, their counts summed', () => {
    expect(vocabulary.candidates(['heater'], [2])[0]).toMatchObject({ known: true });
    expect(vocabulary.candidates(['heaset'], [2])).toEqual([{ word: 'heaset', known: false, candidates: ['headset', 'heater'], df: 20 }]);
    expect(vocabulary.candidates(['hetaer', 'kindel'], [2, 2]).map((c) => c.candidates)).toEqual([['heater'], ['kindle']]);
  });
  it('when nothing is within the allowed edits (or a word has df 0), then there are no candidates and df is 0', () => {
    expect(vocabulary.candidates(['unused', 'zzz'], [2, 1])).toEqual([
      { word: 'unused', known: false, candidates: [], df: 0 },
      { word: 'zzz', known: false, candidates: [], df: 0 },
    ]);
  });
});

describe('Vocabulary.completions', () => {
  it('when words start with the prefix, then they are the completions, most used first, up to the limit', () => {
    expect(vocabulary.completions('he', 0, 5)).toEqual([{ term: 'headphones', df: 40 }, { term: 'headset', df: 10 }, { term: 'heater', df: 10 }]);
    expect(vocabulary.completions('hea', 1, 2).map((t) => t.term)).toEqual(['headphones', 'headset']);
  });
  it('when none does, then words whose first letters are within the edits complete it, closest first', () => {
    expect(vocabulary.completions('hyf', 1, 5).map((t) => t.term)).toEqual(['hydration', 'hydro']);
    expect(vocabulary.completions('kindel', 2, 5).map((t) => t.term)).toEqual(['kindle']);
    expect(vocabulary.completions('qq', 0, 5)).toEqual([]);
  });
});
