import { describe, expect, it } from '@jest/globals';
import { Command, Redis } from 'ioredis';
import { EncodedEvalsha, encodeCommand } from './encoded-command.ts';

describe('encodeCommand', () => {
  it.each([
    ['ASCII keys and arguments', ['d5f1', '2', '{rl}:a', '{rl}:b', '', '1', 't', '100', '60000']],
    ['multi-byte text and an empty argument', ['sha', '1', '{rl}:tenant:é—✓', '']],
    ['no arguments', []],
  ])('when the arguments are %s, then the bytes equal what ioredis writes for the same command', (_name, args) => {
    const ours = encodeCommand('evalsha', args);
    const theirs = new Command('evalsha', args).toWritable({});
    expect(ours.equals(Buffer.from(theirs as string))).toBe(true);
  });
});

describe('EncodedEvalsha.for', () => {
  it('when the client prefixes keys or auto-pipelines, then the ordinary evalsha path is kept', () => {
    const clients = [
      new Redis({ lazyConnect: true }),
      new Redis({ lazyConnect: true, keyPrefix: 'app:' }),
      new Redis({ lazyConnect: true, enableAutoPipelining: true }),
    ];
    try {
      expect(clients.map((c) => EncodedEvalsha.for(c) !== undefined)).toEqual([true, false, false]);
      expect(EncodedEvalsha.for({ evalsha: async () => 0, eval: async () => 0 } as never)).toBeUndefined();
    } finally {
      for (const c of clients) c.disconnect();
    }
  });
});
