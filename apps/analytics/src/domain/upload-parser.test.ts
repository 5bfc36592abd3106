import { describe, expect, it } from '@jest/globals';
import { csvSplitter, ndjsonSplitter, type RecordSplitter } from './upload-parser.ts';

/** Feeds `text` in chunks of `size` characters. */
const split = (s: RecordSplitter, text: string, size: number) => {
  const out = [];
  for (let i = 0; i < text.length; i += size) out.push(...s.push(text.slice(i, i + size)));
  out.push(...s.end());
  return out;
};

describe('csvSplitter', () => {
  const text = 'id,type,props\r\na,"click","{""target"":""x,y""}"\n\nb,signup,"two\nlines"\nc,,';
  it.each([1, 3, 1000])('when read in chunks of %i, then quotes, commas, line breaks and blank lines come out the same', (size) => {
    expect(split(csvSplitter(1000), text, size)).toEqual([
      { line: 1, fields: ['id', 'type', 'props'] },
      { line: 2, fields: ['a', 'click', '{"target":"x,y"}'] },
      { line: 4, fields: ['b', 'signup', 'two\nlines'] },
      { line: 6, fields: ['c', '', ''] },
    ]);
  });
  it('when a record passes the limit, then it is reported too long and the next one is read', () => {
    expect(split(csvSplitter(10), 'a,b\nxxxxxxxxxxxxxxxxxxxx\nc,d\n', 4)).toEqual([{ line: 1, fields: ['a', 'b'] }, { line: 2, tooLong: true }, { line: 3, fields: ['c', 'd'] }]);
  });
});

describe('ndjsonSplitter', () => {
  it.each([1, 5, 1000])('when read in chunks of %i, then each non-blank line is a record with its line number', (size) => {
    expect(split(ndjsonSplitter(100), '{"a":1}\n\n{"b":2}\r\n{"c":3}', size)).toEqual([
      { line: 1, text: '{"a":1}' },
      { line: 3, text: '{"b":2}\r' },
      { line: 4, text: '{"c":3}' },
    ]);
  });
  it('when a line passes the limit, then it is reported too long and the next one is read', () => {
    expect(split(ndjsonSplitter(10), '{"a":1}\n' + 'x'.repeat(50) + '\n{"b":2}\n', 7)).toEqual([{ line: 1, text: '{"a":1}' }, { line: 2, tooLong: true }, { line: 3, text: '{"b":2}' }]);
  });
});
