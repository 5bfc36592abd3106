import { describe, expect, it } from '@jest/globals';
import { moderationFlags } from './moderation.ts';

const rules = { blockedWords: ['casino', 'crypto-giveaway'], maxLinks: 2 };
const article = (over: Partial<{ title: string; body: string; tags: string[] }>) => ({ title: 'A calm title', body: 'Plain words.', tags: [], ...over });

describe('moderationFlags', () => {
  it('when the text is ordinary, then nothing is flagged', () => {
    expect(moderationFlags(article({}), rules)).toEqual([]);
  });

  it('when a blocked word appears as a word, then it is flagged; inside another word it is not', () => {
    expect(moderationFlags(article({ body: 'Visit our Casino tonight' }), rules)).toEqual(['blocked-word:casino']);
    expect(moderationFlags(article({ tags: ['crypto-giveaway'] }), rules)).toEqual(['blocked-word:crypto-giveaway']);
    expect(moderationFlags(article({ body: 'casinos' }), rules)).toEqual([]);
  });

  it('when the body has more links than allowed, then it is flagged with the count', () => {
    expect(moderationFlags(article({ body: 'http://a https://b http://c' }), rules)).toEqual(['too-many-links:3']);
  });

  it('when the title is all capitals, then it is flagged', () => {
    expect(moderationFlags(article({ title: 'BUY THIS NOW PLEASE' }), rules)).toEqual(['shouting-title']);
  });
});
