import { describe, expect, it } from '@jest/globals';
import { selectRange } from './range.ts';

describe('selectRange', () => {
  it('when no Range is sent, then the whole object is sent', () => {
    expect(selectRange(undefined, 100)).toEqual({ kind: 'full' });
  });

  it('when one closed, open or suffix range is asked, then that slice is sent', () => {
    expect(selectRange('bytes=0-9', 100)).toEqual({ kind: 'partial', start: 0, end: 9 });
    expect(selectRange('bytes=90-', 100)).toEqual({ kind: 'partial', start: 90, end: 99 });
    expect(selectRange('bytes=-10', 100)).toEqual({ kind: 'partial', start: 90, end: 99 });
    expect(selectRange('bytes=-500', 100)).toEqual({ kind: 'partial', start: 0, end: 99 });
    expect(selectRange('bytes=50-500', 100)).toEqual({ kind: 'partial', start: 50, end: 99 });
  });

  it('when the range starts past the end, then it is unsatisfiable', () => {
    expect(selectRange('bytes=100-', 100)).toEqual({ kind: 'unsatisfiable' });
    expect(selectRange('bytes=-0', 100)).toEqual({ kind: 'unsatisfiable' });
  });

  it('when the header is malformed, names several ranges or another unit, then the whole object is sent', () => {
    expect(selectRange('bytes=0-1,5-6', 100)).toEqual({ kind: 'full' });
    expect(selectRange('items=0-1', 100)).toEqual({ kind: 'full' });
    expect(selectRange('bytes=9-3', 100)).toEqual({ kind: 'full' });
    expect(selectRange('bytes=-', 100)).toEqual({ kind: 'full' });
  });

  it('when If-Range names another or a weak tag, then the whole object is sent', () => {
    expect(selectRange('bytes=0-1', 100, '"a"', '"a"')).toEqual({ kind: 'partial', start: 0, end: 1 });
    expect(selectRange('bytes=0-1', 100, '"b"', '"a"')).toEqual({ kind: 'full' });
    expect(selectRange('bytes=0-1', 100, 'W/"a"', 'W/"a"')).toEqual({ kind: 'full' });
  });
});
