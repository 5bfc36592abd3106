/**
 * The client's IP as the shortener sees it: behind the gateway, the last
 * `x-forwarded-for` entry (the one the gateway appended: the peer it saw);
 * reached directly, the socket's peer. The gateway is trusted here as it is
 * for x-auth-* (the chart's network policy lets only the gateway in).
 */
import type { Request } from 'express';

export function clientIp(req: Pick<Request, 'headers' | 'socket'>): string {
  const forwarded = req.headers['x-forwarded-for'];
  const list = Array.isArray(forwarded) ? forwarded.join(',') : forwarded;
  const last = list?.split(',').at(-1)?.trim();
  return last || req.socket.remoteAddress || 'unknown';
}
