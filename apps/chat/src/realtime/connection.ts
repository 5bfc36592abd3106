/**
 * One client connection: its frames in order (one at a time, so a client's
 * sends commit in the order it sent them), its room subscriptions with a
 * sequence cursor each (gap-free, duplicate-free delivery: gaps and resumes
 * are read from PostgreSQL), its blocked users, typing throttle, rate limit,
 * token expiry and the slow-consumer guard on every write.
 *
 * Idle connections are what an instance holds most of, so one keeps little:
 * no timer of its own (realtime.ts's sweep calls tick()), no Redis
 * subscription of its own (user events are routed to it in memory), no
 * token unless identity's session checks need it, and its maps only once a
 * room or a typing indicator needs them. Room event frames arrive serialized
 * (frameOf: once per event and instance, not per recipient).
 */
import { randomUUID } from 'node:crypto';
import type { WebSocket } from 'ws';
import { withTenant } from '@bulwark/db';
import { AppError } from '@bulwark/errors';
import { assertMember } from '../domain/access.ts';
import type { RoomEvent, UserEvent } from '../domain/events.ts';
import { acknowledge, deleteMessage, editMessage, postMessage } from '../domain/messages.ts';
import { listMessages, type Message } from '../store/chat-store.ts';
import { authenticate, refusalOf, sessionLive, type Authenticated } from './authenticate.ts';
import { frameOf, type Envelope } from './room-bus.ts';
import { ClientFrame, CLOSE } from './protocol.ts';
import type { Realtime } from './realtime.ts';
import { SequenceCursor } from './sequence-cursor.ts';
import type { Device } from './presence.ts';

interface RoomState {
  cursor: SequenceCursor;
  catchingUp: boolean;
  again: boolean;
  pending: Message[];
  unsubscribe: () => void;
}

const NO_ONE: ReadonlySet<string> = new Set();
const TEXT = { binary: false } as const;

/** A connection is its own presence device (one object less per connection). */
export class ChatConnection implements Device {
  readonly id = randomUUID();
  readonly tenant: string;
  readonly user: string;
  status: Device['status'] = 'online';
  /** The token's expiry (ms since epoch), checked by tick(). */
  private expiresAt: number;
  /** `Bearer …`, kept only while identity's session checks (IDENTITY_URL) need it. */
  private authorization: string | undefined;
  private nextSessionCheck: number;
  private rooms: Map<string, RoomState> | undefined;
  private blocked: ReadonlySet<string> = NO_ONE;
  private typingAt: Map<string, number> | undefined;
  private strikes = 0;
  private queue: Promise<void> | undefined;
  private closed = false;
  alive = true;

  private readonly rt: Realtime;
  private readonly ws: WebSocket;

  constructor(rt: Realtime, ws: WebSocket, auth: Authenticated) {
    this.rt = rt;
    this.ws = ws;
    this.tenant = auth.principal.tenant;
    this.user = auth.principal.sub;
    this.expiresAt = auth.expiresAt;
    this.authorization = rt.config.IDENTITY_URL ? auth.authorization : undefined;
    this.nextSessionCheck = Date.now() + rt.config.SESSION_CHECK_INTERVAL_MS;
  }

  /**
   * Loads blocks, starts reading frames (realtime.ts's shared listeners call
   * onFrame and set alive on pong), announces presence. User events reach it
   * from the start (realtime.ts routes them).
   */
  async open(): Promise<void> {
    const blocked = await this.rt.blockedOf(this.tenant, this.user);
    if (blocked.length > 0) this.blocked = new Set(blocked);
    this.ws.resume();
    this.send({ type: 'welcome', connection: this.id, user: this.user, tenant: this.tenant, expiresAt: new Date(this.expiresAt).toISOString() });
    await this.rt.presence.connect(this).catch((err: unknown) => this.rt.log.warn({ err }, 'presence connect failed'));
  }

  /** Called once the socket closed (either side). */
  async dispose(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.rooms) for (const st of this.rooms.values()) st.unsubscribe();
    this.rooms = undefined;
    await this.rt.presence.disconnect(this).catch((err: unknown) => this.rt.log.warn({ err }, 'presence disconnect failed'));
  }

  /** The instance's sweep (every second): closes at token expiry, checks the session at identity when due. */
  tick(now: number): void {
    if (this.closed) return;
    if (now >= this.expiresAt) return this.close(CLOSE.TOKEN_EXPIRED, 'token expired');
    const url = this.rt.config.IDENTITY_URL;
    if (url && this.authorization && now >= this.nextSessionCheck) {
      this.nextSessionCheck = now + this.rt.config.SESSION_CHECK_INTERVAL_MS;
      void sessionLive(url, this.authorization).then((live) => {
        if (!live) this.close(CLOSE.SESSION_REVOKED, 'session revoked');
      });
    }
  }

  close(code: number, reason: string): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    this.rt.metrics.refused.inc({ code: String(code) });
    this.ws.close(code, reason);
    // A client that does not read would keep the closing handshake open: cut it after a second.
    setTimeout(() => this.ws.terminate(), 1_000).unref();
  }

  /** Writes a frame unless closing; a send buffer over the limit closes the connection 4009 instead of growing. */
  send(frame: object): void {
    this.write(JSON.stringify(frame));
  }

  /** Writes a serialized frame (a shared Buffer is sent as is, as a text frame). */
  private write(data: string | Buffer): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    this.ws.send(data, TEXT);
    if (this.ws.bufferedAmount > this.rt.config.WS_MAX_BUFFERED_BYTES) {
      this.rt.metrics.slowConsumers.inc();
      this.close(CLOSE.SLOW_CONSUMER, 'slow consumer');
    }
  }

  /** Protocol ping; a client that did not answer the previous one is cut. */
  ping(): void {
    if (!this.alive) {
      this.ws.terminate();
      return;
    }
    this.alive = false;
    this.ws.ping();
  }

  /** After the bus's subscriber came back: whatever was published meanwhile is read from PostgreSQL. */
  resync(): void {
    if (this.rooms) for (const [room, st] of this.rooms) void this.catchUp(room, st, 'resync');
  }

  /** A client frame (realtime.ts's shared 'message' listener). */
  onFrame(data: Buffer, isBinary: boolean): void {
    if (!this.rt.allowFrame(this.id)) {
      this.rt.metrics.framesIn.inc({ type: 'limited' });
      this.send({ type: 'error', code: 'CHAT_RATE_LIMITED', detail: `more than ${this.rt.config.WS_RATE_LIMIT} frames per second` });
      if (++this.strikes >= this.rt.config.WS_RATE_LIMIT_STRIKES) this.close(CLOSE.RATE_LIMITED, 'rate limited');
      return;
    }
    this.strikes = 0;
    let frame: ClientFrame;
    try {
      if (isBinary) throw new Error('binary frames are not part of the protocol');
      const parsed = ClientFrame.safeParse(JSON.parse(data.toString('utf8')));
      if (!parsed.success) {
        this.rt.metrics.framesIn.inc({ type: 'bad' });
        const ref = (JSON.parse(data.toString('utf8')) as { ref?: unknown } | null)?.ref;
        this.send({ type: 'error', ...(typeof ref === 'string' ? { ref } : {}), code: 'CHAT_BAD_FRAME', detail: 'not a client frame of the protocol', issues: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) });
        return;
      }
      frame = parsed.data;
    } catch (err) {
      this.rt.metrics.framesIn.inc({ type: 'bad' });
      this.send({ type: 'error', code: 'CHAT_BAD_FRAME', detail: (err as Error).message });
      return;
    }
    this.rt.metrics.framesIn.inc({ type: frame.type });
    if (frame.type === 'typing') return this.onTyping(frame.room);
    if (frame.type === 'ping') return this.send({ type: 'pong', ...(frame.ref ? { ref: frame.ref } : {}) });
    const ref = 'ref' in frame ? frame.ref : undefined;
    const next = (this.queue ?? Promise.resolve()).then(() =>
      withTenant(this.tenant, () => this.handle(frame)).catch((err: unknown) => {
        if (err instanceof AppError && err.status < 500) this.send({ type: 'error', ...(ref ? { ref } : {}), code: err.code, detail: err.message, ...err.extensions });
        else {
          this.rt.log.error({ err, frame: frame.type }, 'chat frame failed');
          this.send({ type: 'error', ...(ref ? { ref } : {}), code: err instanceof AppError ? err.code : 'INTERNAL', detail: 'the frame could not be processed; retry' });
        }
      }),
    );
    this.queue = next;
    // An idle connection holds no settled promise.
    void next.then(() => {
      if (this.queue === next) this.queue = undefined;
    });
  }

  private async handle(frame: Exclude<ClientFrame, { type: 'typing' | 'ping' }>): Promise<void> {
    const deps = { pool: this.rt.pool, publish: this.rt.bus };
    const ok = (extra: object = {}) => this.send({ type: 'ok', ...(frame.ref ? { ref: frame.ref } : {}), ...extra });
    switch (frame.type) {
      case 'subscribe':
        return this.subscribe(frame.room, frame.since, frame.ref);
      case 'unsubscribe':
        this.rooms?.get(frame.room)?.unsubscribe();
        this.rooms?.delete(frame.room);
        return ok();
      case 'send': {
        const { message, created } = await postMessage(deps, this.tenant, this.user, frame.room, { clientId: frame.clientId, body: frame.body, attachments: frame.attachments });
        if (created) this.rt.metrics.messages.inc();
        return this.send({ type: 'ack', ...(frame.ref ? { ref: frame.ref } : {}), room: frame.room, clientId: frame.clientId, seq: message.seq, id: message.id, duplicate: !created });
      }
      case 'edit':
        await editMessage(deps, this.tenant, this.user, frame.room, frame.seq, frame.body);
        return ok({ room: frame.room, seq: frame.seq });
      case 'delete':
        await deleteMessage(deps, this.tenant, this.user, frame.room, frame.seq);
        return ok({ room: frame.room, seq: frame.seq });
      case 'receipt':
        return ok({ room: frame.room, kind: frame.kind, seq: await acknowledge(deps, this.tenant, this.user, frame.room, frame.kind, frame.seq) });
      case 'presence':
        await this.rt.presence.setStatus(this, frame.status);
        return ok({ status: frame.status });
      case 'auth':
        return this.reauthenticate(frame.token, frame.ref);
    }
  }

  private async reauthenticate(token: string, ref: string | undefined): Promise<void> {
    let next: Authenticated;
    try {
      next = await authenticate(this.rt.verifier, `Bearer ${token}`, this.tenant);
    } catch (err) {
      const refusal = refusalOf(err);
      return this.close(refusal.code, refusal.message);
    }
    if (next.principal.sub !== this.user) return this.close(CLOSE.AUTH_CHANGED, 'token of another user');
    if (this.rt.config.IDENTITY_URL && !(await sessionLive(this.rt.config.IDENTITY_URL, next.authorization))) return this.close(CLOSE.SESSION_REVOKED, 'session revoked');
    this.expiresAt = next.expiresAt;
    if (this.authorization) this.authorization = next.authorization;
    this.send({ type: 'ok', ...(ref ? { ref } : {}), expiresAt: new Date(next.expiresAt).toISOString() });
  }

  private async subscribe(room: string, since: number | undefined, ref: string | undefined): Promise<void> {
    const { room: found } = await assertMember(this.rt.pool, room, this.user);
    this.rooms?.get(room)?.unsubscribe();
    const st: RoomState = { cursor: new SequenceCursor(since ?? found.lastSeq), catchingUp: true, again: false, pending: [], unsubscribe: () => undefined };
    (this.rooms ??= new Map()).set(room, st);
    // Listening first, then reading: a message committed after the read is on the channel, one before is in the read.
    st.unsubscribe = await this.rt.bus.subscribeRoom(this.tenant, room, (e) => this.onRoomEvent(room, e));
    this.send({ type: 'subscribed', ...(ref ? { ref } : {}), room, lastSeq: found.lastSeq, since: st.cursor.last });
    st.catchingUp = false;
    await this.catchUp(room, st, 'subscribe');
  }

  /** Sends every message after the cursor from PostgreSQL, then the ones that arrived meanwhile. */
  private async catchUp(room: string, st: RoomState, reason: 'subscribe' | 'gap' | 'resync'): Promise<void> {
    if (st.catchingUp) {
      st.again = true;
      return;
    }
    st.catchingUp = true;
    this.rt.metrics.catchUps.inc({ reason });
    try {
      do {
        st.again = false;
        for (;;) {
          const batch = await withTenant(this.tenant, () => listMessages(this.rt.pool, room, { after: st.cursor.last, limit: this.rt.config.HISTORY_PAGE_MAX }));
          if (this.rooms?.get(room) !== st) return;
          for (const m of batch) if (st.cursor.offer(m.seq) === 'deliver') this.deliverMessage(room, m);
          if (batch.length < this.rt.config.HISTORY_PAGE_MAX) break;
        }
        const pending = st.pending.sort((a, b) => a.seq - b.seq);
        st.pending = [];
        for (const m of pending) {
          const offer = st.cursor.offer(m.seq);
          if (offer === 'deliver') this.deliverMessage(room, m);
          else if (offer === 'gap') st.again = true;
        }
      } while (st.again);
    } catch (err) {
      this.rt.log.warn({ err, room }, 'chat catch-up failed; the next message retries it');
    } finally {
      st.catchingUp = false;
    }
  }

  private deliverMessage(room: string, m: Message): void {
    if (this.blocked.has(m.senderSub)) this.send({ type: 'hidden', room, seq: m.seq });
    else this.send({ type: 'message', room, message: m });
  }

  private onRoomEvent(room: string, envelope: Envelope<RoomEvent>): void {
    const st = this.rooms?.get(room);
    if (!st) return;
    const e = envelope.event;
    switch (e.type) {
      case 'message': {
        if (st.catchingUp) {
          st.pending.push(e.message);
          st.again = true;
          return;
        }
        const offer = st.cursor.offer(e.message.seq);
        // The live frame is the event itself ({ type: 'message', room, message }), serialized once for every recipient.
        if (offer === 'deliver') {
          if (this.blocked.has(e.message.senderSub)) this.send({ type: 'hidden', room, seq: e.message.seq });
          else this.write(frameOf(envelope));
        } else if (offer === 'gap') {
          st.pending.push(e.message);
          void this.catchUp(room, st, 'gap');
        }
        return;
      }
      case 'typing':
        if (e.user !== this.user && !this.blocked.has(e.user)) this.write(frameOf(envelope));
        return;
      case 'edited':
      case 'deleted':
        if (!this.blocked.has(e.message.senderSub)) this.write(frameOf(envelope));
        return;
      case 'member':
        if (e.user === this.user && e.role === null) {
          st.unsubscribe();
          this.rooms?.delete(room);
        }
        this.write(frameOf(envelope));
        return;
      default:
        this.write(frameOf(envelope));
    }
  }

  /** An event of this connection's user (realtime.ts routes the user channel's events here). */
  onUserEvent(envelope: Envelope<RoomEvent | UserEvent>): void {
    const e = envelope.event;
    if (e.type === 'blocks') this.blocked = e.blocked.length > 0 ? new Set(e.blocked) : NO_ONE;
    else if (e.type === 'member' && !this.rooms?.has(e.room)) this.write(frameOf(envelope));
  }

  private onTyping(room: string): void {
    if (!this.rooms?.has(room)) return;
    const now = Date.now();
    this.typingAt ??= new Map();
    if (now - (this.typingAt.get(room) ?? 0) < this.rt.config.TYPING_THROTTLE_MS) return;
    this.typingAt.set(room, now);
    void this.rt.bus.room(this.tenant, { type: 'typing', room, user: this.user });
  }
}

