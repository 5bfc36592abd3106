import { afterEach, describe, expect, it } from '@jest/globals';
import { ensureRequirements } from './prereqs.ts';

const saved = process.env.BULWARK_NO_INSTALL;
afterEach(() => {
  if (saved === undefined) delete process.env.BULWARK_NO_INSTALL;
  else process.env.BULWARK_NO_INSTALL = saved;
});

describe('ensureRequirements', () => {
  it('when everything is present, then nothing happens', () => {
    expect(() => ensureRequirements([{ binary: 'sh', debianPackage: 'dash' }])).not.toThrow();
  });

  it('when a binary is missing and installing is not allowed, then one line names the install command', () => {
    process.env.BULWARK_NO_INSTALL = '1';
    let message = '';
    try {
      ensureRequirements([
        { binary: 'bulwark-no-such-binary', debianPackage: 'bulwark-pkg-a' },
        { binary: '/nonexistent/bulwark', debianPackage: 'bulwark-pkg-b' },
        { binary: 'sh', debianPackage: 'dash' },
      ]);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toBe('missing bulwark-pkg-a, bulwark-pkg-b: run `sudo apt-get install -y bulwark-pkg-a bulwark-pkg-b`');
    expect(message.split('\n')).toHaveLength(1);
  });
});
