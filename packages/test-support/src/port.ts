/**
 * Free loopback ports for servers a test starts, below Linux's ephemeral
 * range (32768–60999). A port the kernel picks with listen(0) comes from that
 * range, and so do the local ports of every outgoing connection: a test that
 * kills its server and starts it again on the same port (Redis killed under
 * load, a broker restarted) can find the port taken by a client socket in the
 * meantime and fail with EADDRINUSE. Below the range only listeners compete,
 * and a bind check skips those.
 */
import { createServer } from 'node:net';

const LOW = 20_000;
const HIGH = 32_767;
const ATTEMPTS = 200;

/** Resolves true when `port` can be listened on at 127.0.0.1 right now (nothing holds it afterwards). */
export function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * `n` distinct ports free on 127.0.0.1 right now, chosen at random in
 * 20000–32767 so parallel Jest workers rarely draw the same one. Nothing
 * holds them afterwards.
 */
export async function freePorts(n: number): Promise<number[]> {
  const ports: number[] = [];
  for (let attempt = 0; ports.length < n; attempt++) {
    if (attempt >= ATTEMPTS * n) throw new Error(`no free port in ${LOW}–${HIGH} after ${attempt} attempts`);
    const port = LOW + Math.floor(Math.random() * (HIGH - LOW + 1));
    if (!ports.includes(port) && (await canListen(port))) ports.push(port);
  }
  return ports;
}

/** A port free on 127.0.0.1 right now, below the ephemeral range (see freePorts). */
export async function freePort(): Promise<number> {
  return (await freePorts(1))[0]!;
}
