import { describe, expect, it } from '@jest/globals';
import { createConnection } from 'node:net';
import { Redis } from 'ioredis';
import { deletePrefix, redisUrl, startHttpServer, startSmtpCapture, suffix } from '@bulwark/test-support';

/** Speaks SMTP on 127.0.0.1:`port`: sends each command once the previous reply arrived; returns every reply's code. */
async function smtpSession(port: number, commands: string[]): Promise<number[]> {
  const socket = createConnection({ host: '127.0.0.1', port });
  const codes: number[] = [];
  let buffer = '';
  let pending = [...commands];
  await new Promise<void>((resolve, reject) => {
    socket.on('error', reject);
    socket.on('close', () => resolve());
    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      // A reply ends with a line "NNN text" (no dash after the code).
      while (/^\d{3} .*\r\n/m.test(buffer)) {
        const end = buffer.search(/^\d{3} .*\r\n/m);
        const line = /^\d{3} .*\r\n/m.exec(buffer.slice(end))![0];
        codes.push(Number(line.slice(0, 3)));
        buffer = buffer.slice(end + line.length);
        const next = pending[0];
        pending = pending.slice(1);
        if (next === undefined) socket.end();
        else socket.write(`${next}\r\n`);
      }
    });
  });
  return codes;
}

describe('startSmtpCapture', () => {
  it('when a message is sent to an accepted and a refused recipient, then the refused one gets 550 and the message is kept with its envelope', async () => {
    const smtp = await startSmtpCapture({ refuse: (address) => address.startsWith('nobody@') });
    try {
      const codes = await smtpSession(smtp.port, ['EHLO test', 'MAIL FROM:<shop@example.test>', 'RCPT TO:<nobody@example.test>', 'RCPT TO:<a@example.test>', 'DATA', 'Subject: hello\r\n\r\nbody\r\n.', 'QUIT']);
      expect(codes).toEqual([220, 250, 250, 550, 250, 354, 250, 221]);
      expect(smtp.mails).toHaveLength(1);
      expect(smtp.mails[0]).toMatchObject({ from: 'shop@example.test', to: ['a@example.test'] });
      expect(smtp.mails[0]!.raw).toContain('Subject: hello');
    } finally {
      await smtp.close();
    }
  });
});

describe('deletePrefix', () => {
  it('when keys share a prefix, then only the keys starting with it go, whether given a client or a URL', async () => {
    const redis = new Redis(redisUrl());
    const p = `ts-${suffix()}`;
    try {
      await redis.mset(`${p}:a`, '1', `${p}:b`, '1', `${p}x:c`, '1', `${p}y:d`, '1');
      await deletePrefix(redis, `${p}:`);
      expect((await redis.keys(`${p}*`)).sort()).toEqual([`${p}x:c`, `${p}y:d`]);
      await deletePrefix(redisUrl(), p);
      expect(await redis.keys(`${p}*`)).toEqual([]);
    } finally {
      redis.disconnect();
    }
  });
});

describe('startHttpServer', () => {
  it('when a client keeps its connection open, then close() still resolves and the port no longer answers', async () => {
    const server = await startHttpServer((_req, res) => res.end('ok'));
    const res = await fetch(`${server.url}/x`, { headers: { connection: 'keep-alive' } });
    expect(await res.text()).toBe('ok');
    await server.close();
    await expect(fetch(`${server.url}/x`)).rejects.toThrow();
  });
});
