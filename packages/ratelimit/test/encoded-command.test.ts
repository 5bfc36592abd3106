/**
 * src/encoded-command.ts overrides a private ioredis method: `Command#toWritable`, whose result
 * ioredis writes to the socket. It is kept (issue 26: −10.5% instructions on the full gateway
 * path, docs/DECISIONS.md) on condition that an ioredis upgrade that changes the method fails
 * here, loudly, instead of silently sending ioredis's own bytes (the gain gone) or other bytes.
 * src/encoded-command.test.ts checks the encoding against ioredis's; this checks the wire.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Command, Redis } from 'ioredis';
import { EncodedEvalsha, encodeCommand, type EncodedSlot } from '../src/encoded-command.ts';
import { deletePrefix, redisUrl, testPrefix } from './support/redis.ts';

let shared: Redis;
const prefix = testPrefix();

beforeAll(async () => {
  shared = new Redis(redisUrl());
  await shared.ping();
});
afterAll(async () => {
  await deletePrefix(shared, prefix);
  shared.disconnect();
});

describe('the ioredis method encoded-command.ts overrides', () => {
  it('when kept bytes are sent, then Redis executes those bytes, not the listed arguments (ioredis still writes Command#toWritable)', async () => {
    const sha = (await shared.script('LOAD', "redis.call('SET', KEYS[1], ARGV[1]) return 1")) as string;
    const listed = `${prefix}:listed`;
    const onWire = `${prefix}:on-wire`;
    // The slot lists one key but keeps the bytes of a command naming another: only the bytes can reach Redis.
    const slot: EncodedSlot = { encoded: { args: [sha, '1', listed, 'v'], bytes: encodeCommand('evalsha', [sha, '1', onWire, 'v']) } };
    const encoded = EncodedEvalsha.for(shared);
    expect(encoded).toBeDefined();
    expect(await encoded!.send(slot, sha, 1, [listed, 'v'])).toBe(1);
    // If this fails, ioredis no longer writes what Command#toWritable returns: remove the override (or adapt it and re-measure).
    expect(await shared.mget(onWire, listed)).toEqual(['v', null]);
  });

  it('when ioredis is loaded, then Command#toWritable is an own method of Command taking the socket', () => {
    // A rename or a move of the method would leave PreEncodedCommand's override unused.
    expect(Object.getOwnPropertyNames(Command.prototype)).toContain('toWritable');
    expect(Command.prototype.toWritable).toHaveLength(1);
  });
});
