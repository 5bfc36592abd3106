/**
 * The WebSocket protocol on one real instance (PostgreSQL, Redis, a real
 * JWKS): refusals with their close codes, send/ack with sequence numbers,
 * resume after a reconnect, typing throttle, receipts, blocking, the frame
 * rate limit, the frame size limit and slow consumers.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { CLOSE } from '../src/realtime/protocol.ts';
import { as, ChatClient, OTHER_TENANT, setupChat, TEST_TENANT, waitFor, type TestChat } from './support.ts';

let t: TestChat;
let url: string;

beforeAll(async () => {
  t = await setupChat();
  ({ url } = await t.start({ WS_RATE_LIMIT: '50', WS_RATE_BURST: '200', WS_RATE_LIMIT_STRIKES: '5', TYPING_THROTTLE_MS: '60000', WS_MAX_FRAME_BYTES: '32768', WS_MAX_BUFFERED_BYTES: '262144' }));
});
afterAll(async () => {
  await t.cleanup();
});

async function publicRoom(owner: string, members: string[] = []): Promise<string> {
  return (await as(owner)(url, 'POST', '/v1/rooms', { name: 'ws', kind: 'private', members })).body.room.id as string;
}

describe('authentication at upgrade', () => {
  it('when the token is missing, forged, expired or of another tenant, then the connection is closed with its documented code', async () => {
    expect(await new ChatClient(url).closedWith()).toMatchObject({ code: CLOSE.TOKEN_MISSING });
    const stranger = await generateKeyPair('ES256');
    const forged = await new SignJWT({ sub: 'mallory', tenant: TEST_TENANT, aud: 'bulwark' }).setProtectedHeader({ alg: 'ES256', kid: (await exportJWK(stranger.publicKey)).kid ?? 'k' }).setExpirationTime('5m').sign(stranger.privateKey);
    expect(await new ChatClient(url, { token: forged }).closedWith()).toMatchObject({ code: CLOSE.TOKEN_INVALID });
    expect(await new ChatClient(url, { token: 'not.a.jwt' }).closedWith()).toMatchObject({ code: CLOSE.TOKEN_INVALID });
    const expired = await t.token('alice', { expiresIn: Math.floor(Date.now() / 1000) - 60 });
    expect(await new ChatClient(url, { token: expired }).closedWith()).toMatchObject({ code: CLOSE.TOKEN_EXPIRED });
    const other = await t.token('alice', { tenant: OTHER_TENANT });
    expect(await new ChatClient(url, { token: other, query: `tenant=${TEST_TENANT}` }).closedWith()).toMatchObject({ code: CLOSE.TENANT_MISMATCH });
    expect(await new ChatClient(url, { token: await t.token('alice'), headers: { 'x-auth-tenant': OTHER_TENANT } }).closedWith()).toMatchObject({ code: CLOSE.TENANT_MISMATCH });
    // A frame sent right after the handshake, before the welcome, is answered (held until the connection is authenticated).
    const eager = new ChatClient(url, { token: await t.token('alice') });
    await eager.opened;
    eager.send({ type: 'ping', ref: 'early' });
    await eager.next((f) => f.ref === 'early', 'the early ping answered');
    eager.close();
    // The query parameter works where headers cannot be set (browsers).
    const byQuery = new ChatClient(url, { query: `access_token=${await t.token('alice')}` });
    await byQuery.next((f) => f.type === 'welcome', 'welcome by query token');
    byQuery.close();
  });

  it('when a long-lived connection reaches its token expiry without a fresh token, then it is closed 4003; a fresh token of the same user keeps it open', async () => {
    const soon = () => t.token('alice', { expiresIn: Math.floor(Date.now() / 1000) + 2 });
    const kept = await ChatClient.connect(url, await soon());
    const lapsed = await ChatClient.connect(url, await soon());
    expect((await kept.request({ type: 'auth', token: await t.token('alice') })).type).toBe('ok');
    expect(await lapsed.closedWith()).toMatchObject({ code: CLOSE.TOKEN_EXPIRED });
    expect(kept.closed).toBeUndefined();
    expect((await kept.request({ type: 'ping' })).type).toBe('pong');
    kept.send({ type: 'auth', token: await t.token('bob') });
    expect(await kept.closedWith()).toMatchObject({ code: CLOSE.AUTH_CHANGED });
  });
});

describe('messages over the socket', () => {
  it('when two users talk, then each send is acked with its sequence, both see the same order, and a resent clientId is acked as a duplicate', async () => {
    const room = await publicRoom('alice', ['bob']);
    const a = await ChatClient.connect(url, await t.token('alice'));
    const b = await ChatClient.connect(url, await t.token('bob'));
    for (const c of [a, b]) expect((await c.request({ type: 'subscribe', room, since: 0 })).type).toBe('subscribed');
    const acks = [];
    for (let i = 0; i < 5; i++) acks.push(await (i % 2 ? b : a).request({ type: 'send', room, clientId: `c${i}`, body: `m${i}` }));
    expect(acks.map((f) => f.seq)).toEqual([1, 2, 3, 4, 5]);
    const dup = await a.request({ type: 'send', room, clientId: 'c0', body: 'm0' });
    expect(dup).toMatchObject({ type: 'ack', seq: 1, duplicate: true });
    await waitFor(() => a.seqs(room).length === 5 && b.seqs(room).length === 5, 'both clients to have 5 messages');
    expect(a.seqs(room)).toEqual([1, 2, 3, 4, 5]);
    expect(b.seqs(room)).toEqual([1, 2, 3, 4, 5]);
    const bad = await a.request({ type: 'send', room, body: 'no client id' });
    expect(bad).toMatchObject({ type: 'error', code: 'CHAT_BAD_FRAME' });
    a.send({ type: 'nonsense' });
    await a.next((f) => f.type === 'error' && f.code === 'CHAT_BAD_FRAME' && f.ref === undefined, 'bad frame error');

    // Reconnect with the last sequence seen: what was sent meanwhile comes first, in order, then live ones.
    b.close();
    for (let i = 5; i < 8; i++) await a.request({ type: 'send', room, clientId: `c${i}`, body: `m${i}` });
    const b2 = await ChatClient.connect(url, await t.token('bob'));
    await b2.request({ type: 'subscribe', room, since: 5 });
    await a.request({ type: 'send', room, clientId: 'c8', body: 'm8' });
    await waitFor(() => b2.seqs(room).length === 4, 'the resumed client to catch up and go live');
    expect(b2.seqs(room)).toEqual([6, 7, 8, 9]);
    a.close();
    b2.close();
  });

  it('when a member edits, deletes, types and reads, then the others get edited, deleted, one typing per throttle window and receipts', async () => {
    const room = await publicRoom('alice', ['bob']);
    const a = await ChatClient.connect(url, await t.token('alice'));
    const b = await ChatClient.connect(url, await t.token('bob'));
    for (const c of [a, b]) await c.request({ type: 'subscribe', room });
    const { seq } = await a.request({ type: 'send', room, clientId: 'x', body: 'helo' });
    expect(await a.request({ type: 'edit', room, seq, body: 'hello' })).toMatchObject({ type: 'ok' });
    await b.next((f) => f.type === 'edited' && (f.message as { body: string }).body === 'hello', 'edited');
    expect(await b.request({ type: 'edit', room, seq, body: 'mine?' })).toMatchObject({ type: 'error', code: 'CHAT_NOT_YOUR_MESSAGE' });
    a.send({ type: 'typing', room });
    a.send({ type: 'typing', room });
    await b.next((f) => f.type === 'typing', 'typing');
    expect(await b.request({ type: 'receipt', room, kind: 'read', seq })).toMatchObject({ type: 'ok', seq });
    await a.next((f) => f.type === 'receipt' && f.user === 'bob' && f.kind === 'read', 'read receipt');
    await a.request({ type: 'delete', room, seq });
    await b.next((f) => f.type === 'deleted', 'deleted');
    expect(b.frames.filter((f) => f.type === 'typing')).toHaveLength(1);
    expect(a.frames.filter((f) => f.type === 'typing')).toHaveLength(0);
    a.close();
    b.close();
  });

  it("when a user blocks another, then the blocked user's messages reach them as hidden frames that keep the sequence", async () => {
    const room = await publicRoom('alice', ['bob']);
    const a = await ChatClient.connect(url, await t.token('alice'));
    const b = await ChatClient.connect(url, await t.token('bob'));
    for (const c of [a, b]) await c.request({ type: 'subscribe', room });
    await as('alice')(url, 'PUT', '/v1/blocks/bob');
    // The block reaches alice's connection through her user channel.
    await waitFor(async () => {
      const before = a.frames.length;
      await b.request({ type: 'send', room, clientId: `probe-${before}`, body: 'probe' });
      await a.next((f) => (f.type === 'message' || f.type === 'hidden') && f.room === room && a.frames.indexOf(f) >= before, 'probe');
      return a.frames.slice(before).some((f) => f.type === 'hidden');
    }, 'the block to apply');
    await a.request({ type: 'send', room, clientId: 'own', body: 'mine' });
    const last = a.seqs(room).at(-1)!;
    expect(a.seqs(room)).toEqual(Array.from({ length: last }, (_, i) => i + 1));
    expect(a.frames.filter((f) => f.type === 'message' && (f.message as { senderSub: string }).senderSub === 'bob' && f.room === room).length).toBeLessThan(last);
    a.close();
    b.close();
  });

  it("when a user who blocks another opens two devices at once, then both read the block at connect and get the blocked user's messages as hidden frames", async () => {
    const room = await publicRoom('carol', ['dave']);
    await as('carol')(url, 'PUT', '/v1/blocks/dave');
    const [c1, c2, d] = await Promise.all([ChatClient.connect(url, await t.token('carol')), ChatClient.connect(url, await t.token('carol')), ChatClient.connect(url, await t.token('dave'))]);
    for (const c of [c1, c2, d]) await c.request({ type: 'subscribe', room });
    const seq = (await d.request({ type: 'send', room, clientId: 'from-dave', body: 'hello' })).seq as number;
    for (const c of [c1, c2]) expect(await c.next((f) => f.room === room && f.seq === seq, 'the hidden frame')).toMatchObject({ type: 'hidden', room, seq });
    await d.next((f) => f.type === 'message' && f.room === room, 'its own message');
    for (const c of [c1, c2, d]) c.close();
  });
});

describe('protection', () => {
  it('when a connection floods frames, then the excess is answered CHAT_RATE_LIMITED and a sustained flood is closed 4008', async () => {
    const c = await ChatClient.connect(url, await t.token('flooder'));
    for (let i = 0; i < 400; i++) c.send({ type: 'ping' });
    expect(await c.closedWith()).toMatchObject({ code: CLOSE.RATE_LIMITED });
    expect(c.frames.some((f) => f.type === 'error' && f.code === 'CHAT_RATE_LIMITED')).toBe(true);
  });

  it('when a frame is larger than WS_MAX_FRAME_BYTES, then the connection is closed 1009', async () => {
    const c = await ChatClient.connect(url, await t.token('big'));
    c.send({ type: 'ping', pad: 'x'.repeat(40_000) });
    expect(await c.closedWith()).toMatchObject({ code: 1009 });
  });

  it('when a client stops reading, then its send buffer stops growing past the limit: it is closed as a slow consumer', async () => {
    // An instance without a practical rate limit, so the talker fills the kernel's socket buffers quickly.
    const { url: fast } = await t.start({ WS_RATE_LIMIT: '100000', WS_RATE_BURST: '100000', WS_MAX_BUFFERED_BYTES: '262144' });
    const room = await publicRoom('talker', ['sleeper']);
    const sleeper = await ChatClient.connect(fast, await t.token('sleeper'));
    await sleeper.request({ type: 'subscribe', room });
    (sleeper.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const talker = await ChatClient.connect(fast, await t.token('talker'));
    const body = 'y'.repeat(15_000);
    let i = 0;
    await waitFor(async () => {
      const metrics = await (await fetch(`${fast}/metrics`)).text();
      if (/^chat_slow_consumers_total\{[^}]*\} 1$/m.test(metrics)) return true;
      for (let k = 0; k < 49; k++) talker.send({ type: 'send', room, clientId: `s${i++}`, body });
      await talker.request({ type: 'send', room, clientId: `s${i++}`, body });
      return false;
    }, 'the sleeper to be closed as a slow consumer', 50_000);
    expect(await (await fetch(`${fast}/metrics`)).text()).toMatch(/^chat_connections_closed_total\{code="4009"[^}]*\} 1$/m);
    // The talker was not hurt by the sleeper.
    expect(talker.closed).toBeUndefined();
    talker.close();
  });

  it('when the instance drains (SIGTERM path), then open connections are closed 1001 so clients resume elsewhere', async () => {
    const { app, url: draining } = await t.start();
    const c = await ChatClient.connect(draining, await t.token('leaver'));
    await app.service.stop();
    expect(await c.closedWith()).toMatchObject({ code: 1001 });
  });
});
