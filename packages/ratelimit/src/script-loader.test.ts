import { describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { loadScript } from './script-loader.ts';

describe('loadScript', () => {
  it('when the check script is loaded, then includes are inlined, the header documents KEYS/ARGV/Returns and the sha is of the final source', () => {
    const script = loadScript('check-policies-n');
    expect(script.numKeys).toBeUndefined();
    expect(script.source).not.toContain('@include');
    expect(script.source).toContain('local function token_bucket_peek');
    expect(script.source).toContain('local function sliding_window_peek');
    expect(script.source).toContain('local function fixed_window_peek');
    const header = script.source.slice(0, script.source.indexOf(']]'));
    for (const word of ['KEYS', 'ARGV', 'Returns']) expect(header).toContain(word);
    expect(script.sha).toBe(createHash('sha1').update(script.source).digest('hex'));
    expect(loadScript('check-policies-n')).toBe(script);
  });
});
