/**
 * Redis pub/sub between instances: one channel per loaded document
 * (`<prefix>:<tenant>:<document>`), messages of one byte kind, the sender's
 * 16-byte instance id and the payload. Updates are published only after
 * they are in the log, so a peer never holds anything the log lacks.
 * Pub/sub loses what is sent while a connection is down: when either
 * connection comes back, `onReconnect` runs (the rooms re-read their
 * documents from the log) and a RELOAD is published to every loaded
 * document so peers re-read too.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Logger } from '@bulwark/service-kit/logging';

export const KIND = { UPDATE: 0, AWARENESS: 1, RELOAD: 2 } as const;
export type BusKind = (typeof KIND)[keyof typeof KIND];

export type BusHandler = (kind: BusKind, payload: Uint8Array) => void;

export interface Bus {
  subscribe(tenant: string, documentId: string, handler: BusHandler): Promise<void>;
  unsubscribe(tenant: string, documentId: string): Promise<void>;
  publish(tenant: string, documentId: string, kind: BusKind, payload: Uint8Array): void;
  close(): Promise<void>;
}

const ID_BYTES = 16;

/** A bus that connects nobody (no REDIS_URL: one instance). */
export const LOCAL_BUS: Bus = { subscribe: async () => undefined, unsubscribe: async () => undefined, publish: () => undefined, close: async () => undefined };

export function createRedisBus(options: { url: string; prefix: string; log: Logger; onReconnect: () => void }): Bus {
  const self = randomBytes(ID_BYTES);
  const redisOptions = { maxRetriesPerRequest: 1, enableOfflineQueue: true, retryStrategy: (times: number) => Math.min(times * 100, 1_000) };
  const pub = new Redis(options.url, redisOptions);
  const sub = new Redis(options.url, redisOptions);
  const handlers = new Map<string, BusHandler>();
  const channelOf = (tenant: string, documentId: string) => `${options.prefix}:${tenant}:${documentId}`;
  let closing = false;
  const reconnected = () => {
    if (closing) return;
    options.log.warn({ documents: handlers.size }, 'collab bus reconnected: documents re-read from the log');
    options.onReconnect();
    for (const channel of handlers.keys()) void pub.publish(channel, Buffer.concat([Buffer.from([KIND.RELOAD]), self])).catch(() => undefined);
  };
  for (const conn of [pub, sub]) {
    let readyOnce = false;
    conn.on('ready', () => {
      if (readyOnce) reconnected();
      readyOnce = true;
    });
    conn.on('error', (err: Error) => options.log.debug({ err }, 'collab bus connection error'));
  }
  sub.on('messageBuffer', (channel: Buffer, message: Buffer) => {
    const handler = handlers.get(channel.toString());
    if (!handler || message.length < 1 + ID_BYTES) return;
    if (message.subarray(1, 1 + ID_BYTES).equals(self)) return;
    handler(message[0] as BusKind, new Uint8Array(message.buffer, message.byteOffset + 1 + ID_BYTES, message.length - 1 - ID_BYTES));
  });
  return {
    async subscribe(tenant, documentId, handler) {
      const channel = channelOf(tenant, documentId);
      handlers.set(channel, handler);
      await sub.subscribe(channel);
    },
    async unsubscribe(tenant, documentId) {
      const channel = channelOf(tenant, documentId);
      handlers.delete(channel);
      await sub.unsubscribe(channel).catch(() => undefined);
    },
    publish(tenant, documentId, kind, payload) {
      pub.publish(channelOf(tenant, documentId), Buffer.concat([Buffer.from([kind]), self, payload])).catch((err: unknown) => options.log.warn({ err }, 'collab bus publish failed (peers catch up on reconnect)'));
    },
    async close() {
      closing = true;
      sub.disconnect();
      pub.disconnect();
    },
  };
}
