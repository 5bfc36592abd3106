/**
 * The y-websocket endpoint on the kit's HTTP server: `GET /v1/collab/<id>`
 * upgraded, then admitted (identity's access token from `Authorization:
 * Bearer` or the `token` query parameter, verified by the kit's verifier; the
 * document read under the token's tenant; its access checked) or closed with
 * a code of close-codes.ts. Messages that arrive while admission runs are
 * kept and handled after it. The connection is closed 4401 when its token
 * expires. Readers' updates are dropped (and told `permission-denied` once).
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as authProtocol from 'y-protocols/auth';
import * as syncProtocol from 'y-protocols/sync';
import * as Y from 'yjs';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { withTenant, type DbPool } from '@bulwark/db';
import type { AppError } from '@bulwark/errors';
import type { Logger } from '@bulwark/service-kit/logging';
import type { Principal, TokenVerifier } from '@bulwark/service-kit/service-auth';
import { canRead, canWrite } from '../domain/access.ts';
import { findDocument } from '../store/document-store.ts';
import { CLOSE } from './close-codes.ts';
import type { CollabMetrics } from './metrics.ts';
import { MESSAGE } from './protocol.ts';
import type { Room, Peer } from './room.ts';
import type { Rooms } from './rooms.ts';

const PATH = /^\/v1\/collab\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;
const MAX_TIMER_MS = 2_147_483_647;

export interface CollabSocketOptions {
  pool: DbPool;
  rooms: Rooms;
  verifier: TokenVerifier;
  metrics: CollabMetrics;
  log: Logger;
  maxMessageBytes: number;
  pingIntervalMs: number;
}

class Refusal extends Error {
  readonly code: number;
  constructor(code: number, reason: string) {
    super(reason);
    this.code = code;
  }
}

/** Seconds-since-epoch `exp` of a token the verifier accepted (its payload is trusted now). */
function expiryOf(authorization: string): number | undefined {
  const payload = authorization.split('.')[1];
  if (!payload) return undefined;
  try {
    const exp = (JSON.parse(Buffer.from(payload, 'base64url').toString()) as { exp?: unknown }).exp;
    return typeof exp === 'number' ? exp : undefined;
  } catch {
    return undefined;
  }
}

function authorizationOf(req: IncomingMessage, url: URL): string | undefined {
  const header = req.headers.authorization;
  if (header) return header;
  const token = url.searchParams.get('token');
  return token ? `Bearer ${token}` : undefined;
}

async function admit(options: CollabSocketOptions, authorization: string | undefined, documentId: string): Promise<{ principal: Principal; writer: boolean }> {
  let principal: Principal;
  try {
    principal = await options.verifier.verify(authorization);
  } catch (err) {
    const status = (err as AppError).status;
    throw status === 503 ? new Refusal(CLOSE.UNAVAILABLE, 'authentication unavailable') : new Refusal(CLOSE.UNAUTHORIZED, (err as Error).message.slice(0, 100));
  }
  const tenant = principal.tenant;
  if (!tenant) throw new Refusal(CLOSE.FORBIDDEN, 'token names no tenant');
  let doc;
  try {
    doc = await withTenant(tenant, () => findDocument(options.pool, documentId));
  } catch (err) {
    options.log.warn({ err, document: documentId }, 'collab admission could not read the document');
    throw new Refusal(CLOSE.UNAVAILABLE, 'document store unavailable');
  }
  if (!doc) throw new Refusal(CLOSE.NOT_FOUND, 'no such document');
  if (!canRead(doc, principal.roles)) throw new Refusal(CLOSE.FORBIDDEN, 'your roles may not read this document');
  return { principal, writer: canWrite(doc, principal.roles) };
}

/** Serves documents on `server`; returns the drain hook (closes every socket 1012 and stores what is queued). */
export function attachCollabSockets(server: Server, options: CollabSocketOptions): () => Promise<void> {
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxMessageBytes });
  const alive = new WeakMap<WebSocket, boolean>();
  const heartbeat = setInterval(() => {
    for (const ws of wss.clients) {
      if (alive.get(ws) === false) {
        ws.terminate();
        continue;
      }
      alive.set(ws, false);
      ws.ping();
    }
  }, options.pingIntervalMs);
  heartbeat.unref();

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://collab');
    const match = PATH.exec(url.pathname);
    if (!match) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => serve(ws, authorizationOf(req, url), match[1]!));
  });

  function serve(ws: WebSocket, authorization: string | undefined, documentId: string): void {
    ws.binaryType = 'nodebuffer';
    alive.set(ws, true);
    ws.on('pong', () => alive.set(ws, true));
    ws.on('error', () => ws.terminate());
    const early: Buffer[] = [];
    let handle: ((data: Buffer) => void) | undefined;
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) return;
      if (handle) handle(data);
      else early.push(data);
    });
    const peer: Peer = {
      awarenessIds: new Set(),
      send: (message) => {
        if (ws.readyState === ws.OPEN) ws.send(message);
      },
      close: (code, reason) => ws.close(code, reason),
    };
    let room: Room | undefined;
    let expiry: NodeJS.Timeout | undefined;
    let closed = false;
    ws.once('close', () => {
      closed = true;
      clearTimeout(expiry);
      if (room) {
        options.metrics.connections.dec();
        options.rooms.leave(room, peer);
      }
    });

    admit(options, authorization, documentId)
      .then(async ({ principal, writer }) => {
        if (closed) return;
        const exp = expiryOf(authorization!);
        if (exp !== undefined) {
          expiry = setTimeout(() => ws.close(CLOSE.UNAUTHORIZED, 'token expired'), Math.min(MAX_TIMER_MS, Math.max(0, exp * 1000 - Date.now())));
          expiry.unref();
        }
        const joined = await options.rooms.join(principal.tenant!, documentId, peer);
        if (closed) {
          options.rooms.leave(joined, peer);
          return;
        }
        room = joined;
        options.metrics.connections.inc();
        let toldReadOnly = false;
        handle = (data) => {
          try {
            const reply = onMessage(joined, peer, new Uint8Array(data.buffer, data.byteOffset, data.byteLength), writer, () => {
              options.metrics.updates.inc({ source: 'refused' });
              if (toldReadOnly) return false;
              toldReadOnly = true;
              return true;
            });
            if (reply) peer.send(reply);
          } catch (err) {
            options.log.warn({ err, document: documentId }, 'collab message not understood: connection closed');
            ws.close(1003, 'message not understood');
          }
        };
        // The server's state vector first: the client answers with what it has and the server lacks (its offline edits).
        const hello = encoding.createEncoder();
        encoding.writeVarUint(hello, MESSAGE.SYNC);
        syncProtocol.writeSyncStep1(hello, joined.doc);
        peer.send(encoding.toUint8Array(hello));
        const states = joined.awareness.getStates();
        if (states.size > 0) peer.send(awarenessMessage(joined, [...states.keys()]));
        for (const data of early.splice(0)) handle(data);
      })
      .catch((err: unknown) => {
        const refusal = err instanceof Refusal ? err : new Refusal(CLOSE.UNAVAILABLE, 'document could not be loaded');
        if (!(err instanceof Refusal)) options.log.warn({ err, document: documentId }, 'collab document could not be loaded');
        options.metrics.refused.inc({ code: String(refusal.code) });
        if (!closed) ws.close(refusal.code, refusal.message);
      });
  }

  return async () => {
    clearInterval(heartbeat);
    for (const ws of wss.clients) ws.close(CLOSE.RESTART, 'instance going away');
    await options.rooms.close();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  };
}

function awarenessMessage(room: Room, clients: number[]): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, MESSAGE.AWARENESS);
  encoding.writeVarUint8Array(encoder, awarenessProtocol.encodeAwarenessUpdate(room.awareness, clients));
  return encoding.toUint8Array(encoder);
}

/** One client message; returns the direct reply, if any. `refuseWrite` says whether to tell a reader once. */
function onMessage(room: Room, peer: Peer, data: Uint8Array, writer: boolean, refuseWrite: () => boolean): Uint8Array | undefined {
  const decoder = decoding.createDecoder(data);
  const type = decoding.readVarUint(decoder);
  if (type === MESSAGE.SYNC) {
    const step = decoding.readVarUint(decoder);
    if (step === syncProtocol.messageYjsSyncStep1) {
      const encoder = encoding.createEncoder();
      encoding.writeVarUint(encoder, MESSAGE.SYNC);
      encoding.writeVarUint(encoder, syncProtocol.messageYjsSyncStep2);
      encoding.writeVarUint8Array(encoder, Y.encodeStateAsUpdate(room.doc, decoding.readVarUint8Array(decoder)));
      return encoding.toUint8Array(encoder);
    }
    if (step === syncProtocol.messageYjsSyncStep2 || step === syncProtocol.messageYjsUpdate) {
      const update = decoding.readVarUint8Array(decoder);
      if (writer) {
        room.receive(update, peer);
        return undefined;
      }
      if (!refuseWrite()) return undefined;
      const encoder = encoding.createEncoder();
      encoding.writeVarUint(encoder, MESSAGE.AUTH);
      authProtocol.writePermissionDenied(encoder, 'read-only: your roles may not write this document');
      return encoding.toUint8Array(encoder);
    }
    throw new Error(`unknown sync step ${step}`);
  }
  if (type === MESSAGE.AWARENESS) {
    room.countAwareness();
    awarenessProtocol.applyAwarenessUpdate(room.awareness, decoding.readVarUint8Array(decoder), peer);
    return undefined;
  }
  if (type === MESSAGE.QUERY_AWARENESS) return awarenessMessage(room, [...room.awareness.getStates().keys()]);
  return undefined; // MESSAGE.AUTH and unknown types: nothing a client sends the server
}
