import { afterEach, describe, expect, it } from '@jest/globals';
import net from 'node:net';
import { listeningPorts, listensOnlyElsewhere, redisCommand, runsOnAnotherPort } from './proc.ts';

let server: net.Server | undefined;
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

/** A TCP server on a free port that answers each connection's first chunk with `reply`, or closes it when reply is undefined. */
async function serve(reply: string | undefined): Promise<number> {
  server = net.createServer((socket) => {
    socket.once('data', () => (reply === undefined ? socket.destroy() : socket.write(reply)));
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

describe('redisCommand', () => {
  it('when the server replies, then the first line is returned', async () => {
    const port = await serve('+PONG\r\n');
    await expect(redisCommand('127.0.0.1', port, 'PING')).resolves.toBe('+PONG');
  });

  it('when the server closes without a reply (as SHUTDOWN does), then it settles with undefined instead of never', async () => {
    const port = await serve(undefined);
    await expect(redisCommand('127.0.0.1', port, 'SHUTDOWN', 60_000)).resolves.toBeUndefined();
  }, 10_000);
});

describe('listeningPorts and runsOnAnotherPort', () => {
  it('when this process listens on a port, then /proc shows it, and a server of ours on another port is told apart', async () => {
    const port = await serve('+PONG\r\n');
    const other = port === 20_000 ? 20_001 : 20_000;
    expect(listeningPorts(process.pid)).toContain(port);
    expect(runsOnAnotherPort(process.pid, 'node', [port])).toBe(false);
    expect(runsOnAnotherPort(process.pid, 'node', [other])).toBe(true);
    expect(runsOnAnotherPort(process.pid, 'no-such-binary', [other])).toBe(false);
    await new Promise<void>((resolve) => server!.close(() => resolve()));
    server = undefined;
    expect(listeningPorts(process.pid)).not.toContain(port);
  });

  it('when a server listens on one of its expected ports only (a Kafka whose controller is up before its broker), then it is starting, not on another port', async () => {
    const controller = await serve('+PONG\r\n');
    const broker = controller === 20_000 ? 20_001 : 20_000;
    expect(listensOnlyElsewhere(process.pid, [broker, controller])).toBe(false);
    expect(listensOnlyElsewhere(process.pid, [broker])).toBe(true);
  });
});
