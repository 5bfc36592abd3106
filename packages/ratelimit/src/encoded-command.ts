/**
 * EVALSHA commands whose RESP bytes are encoded once per argument list.
 *
 * ioredis builds the wire form of every command from its arguments
 * (`Command.toWritable`). It measures each argument with `Buffer.byteLength`
 * and concatenates a string of about 40 pieces. For the gateway's check of
 * 3 policies (16 arguments) that is ~15k instructions per request under
 * callgrind, about 5% of the whole proxied request. A caller that checks the
 * same frozen hits array again sends the same arguments: same keys, same
 * policy arguments, `''` for Redis TIME and a cost of 1. So the bytes are
 * kept in the rate limiter's memo of that frozen hits array and reused while every argument is still equal;
 * any difference (a policy changed by `setPolicies`, a clock, another cost)
 * re-encodes them. The command object is still an ioredis `Command`, so
 * queueing, reconnects, reply parsing and errors (NOSCRIPT included) are
 * the library's. Only its `toWritable` returns the kept bytes.
 *
 * `toWritable` is private to ioredis (pinned to 5.x): test/encoded-command.test.ts
 * sends kept bytes that name another key than the listed arguments and checks
 * that Redis ran the bytes, so an upgrade that stops writing what
 * `toWritable` returns fails there instead of silently losing the gain
 * (−10.5% instructions on the full gateway path, docs/DECISIONS.md).
 *
 * Used only with a plain `Redis` client without `keyPrefix` (ioredis would
 * prefix the keys in its own encoding) and without auto-pipelining (which
 * batches commands in its own way). A Cluster client or any other
 * `ScriptClient` takes the ordinary `evalsha` path.
 */
import { Command, Redis } from 'ioredis';
import type { ScriptClient } from './script-loader.ts';

/** The RESP array of bulk strings for `args`, exactly as ioredis writes it. */
export function encodeCommand(name: string, args: readonly string[]): Buffer {
  let out = `*${args.length + 1}\r\n$${Buffer.byteLength(name)}\r\n${name}\r\n`;
  for (const arg of args) out += `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`;
  return Buffer.from(out);
}

const NO_ARGS: string[] = [];

class PreEncodedCommand extends Command {
  readonly #bytes: Buffer;

  constructor(name: string, args: readonly string[], bytes: Buffer) {
    // ioredis copies its arguments with args.flat() (~4.5k instructions for
    // the gateway's 16): the kept list is already flat, so it is set as is.
    // No replyEncoding: the check script answers an array of integers, which
    // ioredis would otherwise copy element by element looking for Buffers.
    super(name, NO_ARGS);
    this.args = args as string[];
    this.#bytes = bytes;
  }

  override toWritable(): Buffer {
    return this.#bytes;
  }
}

/** An argument list and its RESP bytes. */
export interface EncodedArgs {
  readonly args: readonly string[];
  readonly bytes: Buffer;
}

/** Where the bytes for one frozen hits array are kept (the rate limiter's memo of that array). */
export interface EncodedSlot {
  encoded: EncodedArgs | undefined;
}

/** EVALSHA that reuses the bytes kept in a slot while the arguments are the same; see the module comment. */
export class EncodedEvalsha {
  readonly #redis: Redis;

  private constructor(redis: Redis) {
    this.#redis = redis;
  }

  /** An instance for `client` if it is a plain ioredis client this can serve, else undefined. */
  static for(client: ScriptClient): EncodedEvalsha | undefined {
    if (!(client instanceof Redis)) return undefined;
    const options = client.options;
    if (options.keyPrefix || options.enableAutoPipelining) return undefined;
    return new EncodedEvalsha(client);
  }

  /** EVALSHA `sha` with `numKeys` and `argv` (keys, then ARGV), reusing the bytes in `slot` when the arguments are the same. */
  send(slot: EncodedSlot, sha: string, numKeys: number, argv: readonly string[]): Promise<unknown> {
    let encoded = slot.encoded;
    if (encoded === undefined || !sameArgs(encoded.args, sha, numKeys, argv)) {
      const args = [sha, String(numKeys), ...argv];
      encoded = slot.encoded = { args, bytes: encodeCommand('evalsha', args) };
    }
    return this.#redis.sendCommand(new PreEncodedCommand('evalsha', encoded.args, encoded.bytes)) as Promise<unknown>;
  }
}

function sameArgs(kept: readonly string[], sha: string, numKeys: number, argv: readonly string[]): boolean {
  if (kept.length !== argv.length + 2 || kept[0] !== sha || kept[1] !== String(numKeys)) return false;
  for (let i = 0; i < argv.length; i++) if (kept[i + 2] !== argv[i]) return false;
  return true;
}
