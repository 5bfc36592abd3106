/**
 * A small client of clamd's INSTREAM command (clamd(8)): `zINSTREAM\0`, then
 * chunks each prefixed by its length as a 4-byte big-endian integer, then a
 * zero-length chunk; clamd answers `stream: OK`, `stream: <name> FOUND` or
 * `<reason> ERROR`, null-terminated. Our own ~80 lines rather than a package:
 * the protocol is that small, and the npm clients either shell out to
 * clamdscan or buffer whole files.
 */
import net from 'node:net';

export type ScanVerdict = { verdict: 'clean' } | { verdict: 'infected'; signature: string };

export interface ClamdClient {
  /** Streams `chunks` to clamd; resolves with its verdict, rejects when clamd is away, errs or times out. */
  scan(chunks: AsyncIterable<Uint8Array>): Promise<ScanVerdict>;
  ping(timeoutMs?: number): Promise<void>;
}

/** clamd refuses chunks larger than its StreamMaxLength anyway; 64 KiB keeps memory flat. */
const CHUNK = 64 * 1024;

/** Parses clamd's reply to INSTREAM. */
export function parseScanReply(reply: string): ScanVerdict {
  const text = reply.replace(/\0+$/, '').trim();
  if (text === 'stream: OK') return { verdict: 'clean' };
  const found = /^stream: (.+) FOUND$/.exec(text);
  if (found) return { verdict: 'infected', signature: found[1]! };
  throw new Error(`clamd: ${text || 'no answer'}`);
}

export function createClamdClient(options: { host: string; port: number; timeoutMs: number }): ClamdClient {
  function connect(): Promise<net.Socket> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: options.host, port: options.port });
      socket.setTimeout(options.timeoutMs, () => socket.destroy(new Error(`clamd at ${options.host}:${options.port} timed out after ${options.timeoutMs} ms`)));
      socket.once('connect', () => resolve(socket));
      socket.once('error', reject);
    });
  }

  /** Collects the reply until its terminating null byte or the close. */
  function replyOf(socket: net.Socket): Promise<string> {
    return new Promise((resolve, reject) => {
      let data = '';
      socket.on('data', (chunk: Buffer) => {
        data += chunk.toString('utf8');
        if (data.includes('\0')) resolve(data.slice(0, data.indexOf('\0')));
      });
      socket.once('error', reject);
      socket.once('close', () => (data ? resolve(data) : reject(new Error('clamd closed the connection without an answer'))));
    });
  }

  async function write(socket: net.Socket, buf: Uint8Array): Promise<void> {
    if (socket.destroyed) throw new Error('clamd closed the connection mid-stream');
    if (!socket.write(buf)) await new Promise<void>((resolve, reject) => {
      socket.once('drain', resolve);
      socket.once('close', () => reject(new Error('clamd closed the connection mid-stream')));
    });
  }

  return {
    async scan(chunks) {
      const socket = await connect();
      try {
        const reply = replyOf(socket);
        // clamd may answer early (size limit) and close: the reply wins over a failed write.
        const sent = (async () => {
          await write(socket, Buffer.from('zINSTREAM\0'));
          for await (const chunk of chunks) {
            for (let offset = 0; offset < chunk.length; offset += CHUNK) {
              const part = chunk.subarray(offset, offset + CHUNK);
              const size = Buffer.alloc(4);
              size.writeUInt32BE(part.length);
              await write(socket, size);
              await write(socket, part);
            }
          }
          await write(socket, Buffer.alloc(4));
        })();
        sent.catch(() => undefined);
        return parseScanReply(await reply);
      } finally {
        socket.destroy();
      }
    },
    async ping(timeoutMs = 1_000) {
      const socket = await connect();
      try {
        socket.setTimeout(timeoutMs);
        const reply = replyOf(socket);
        socket.write('zPING\0');
        if ((await reply) !== 'PONG') throw new Error('clamd did not answer PONG');
      } finally {
        socket.destroy();
      }
    },
  };
}
