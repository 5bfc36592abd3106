/**
 * Two chat instances as real child processes (src/main.ts) sharing rooms
 * through the real Redis and PostgreSQL: clients on both see one order
 * with no loss and no duplicates; SIGKILL of one mid-conversation, its
 * clients reconnect to the other and resume with nothing acknowledged lost;
 * presence converges after the kill (heartbeats and TTLs).
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { Service } from '@bulwark/test-support';
import { as, ChatClient, setupChat, waitFor, type Frame, type TestChat } from './support.ts';

let t: TestChat;
let one: Service;
let two: Service;
const FAST_PRESENCE = { PRESENCE_HEARTBEAT_MS: '200', PRESENCE_TTL_MS: '1500', WS_RATE_LIMIT: '1000', WS_RATE_BURST: '1000' };

beforeEach(async () => {
  t = await setupChat();
  [one, two] = await Promise.all([t.spawn(FAST_PRESENCE), t.spawn(FAST_PRESENCE)]);
});
afterEach(async () => {
  await t.cleanup();
});

async function room(owner: string, members: string[]): Promise<string> {
  const res = await as(owner)(two.url, 'POST', '/v1/rooms', { name: 'x', kind: 'private', members });
  expect(res.status).toBe(201);
  return res.body.room.id as string;
}

const messagesOf = (c: ChatClient, roomId: string) => c.frames.filter((f) => f.type === 'message' && f.room === roomId).map((f) => f.message as { seq: number; senderSub: string; clientId: string });

describe('two instances', () => {
  it('when clients on both instances send at once, then every client sees every message once, in the same gap-free order', async () => {
    const users = ['u1', 'u2', 'u3', 'u4'];
    const roomId = await room('u1', users.slice(1));
    const clients = await Promise.all(users.map(async (u, i) => ChatClient.connect(i % 2 ? two.url : one.url, await t.token(u))));
    for (const c of clients) await c.request({ type: 'subscribe', room: roomId, since: 0 });
    const perClient = 25;
    await Promise.all(
      clients.map(async (c, i) => {
        for (let k = 0; k < perClient - 1; k++) c.send({ type: 'send', room: roomId, clientId: `${i}-${k}`, body: `from ${i}: ${k}` });
        await c.request({ type: 'send', room: roomId, clientId: `${i}-${perClient - 1}`, body: `from ${i}: ${perClient - 1}` });
      }),
    );
    const total = users.length * perClient;
    await waitFor(() => clients.every((c) => c.seqs(roomId).length >= total), 'every client to receive every message');
    const reference = messagesOf(clients[0]!, roomId).map((m) => `${m.seq}:${m.senderSub}:${m.clientId}`);
    expect(reference).toHaveLength(total);
    expect(messagesOf(clients[0]!, roomId).map((m) => m.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    for (const c of clients) expect(messagesOf(c, roomId).map((m) => `${m.seq}:${m.senderSub}:${m.clientId}`)).toEqual(reference);
    // Each sender's own messages are numbered in the order it sent them (frames of a connection are handled one at a time).
    for (let i = 0; i < users.length; i++) {
      const own = messagesOf(clients[0]!, roomId).filter((m) => m.senderSub === users[i]).map((m) => Number(m.clientId.split('-')[1]));
      expect(own).toEqual(Array.from({ length: perClient }, (_, k) => k));
    }
    for (const c of clients) c.close();
  });

  it('when an instance is SIGKILLed mid-conversation, then its clients reconnect to the other, resend what was not acked, and resume: nothing acked is lost, nothing is doubled', async () => {
    const roomId = await room('alice', ['bob']);
    const bob = await ChatClient.connect(two.url, await t.token('bob'));
    await bob.request({ type: 'subscribe', room: roomId, since: 0 });
    let alice = await ChatClient.connect(one.url, await t.token('alice'));
    await alice.request({ type: 'subscribe', room: roomId, since: 0 });

    const acked = new Set<string>();
    const sent: string[] = [];
    const collectAcks = (c: ChatClient) => c.ws.on('message', (data) => {
      const f = JSON.parse(String(data)) as Frame;
      if (f.type === 'ack') acked.add(f.clientId as string);
    });
    collectAcks(alice);
    for (let k = 0; k < 40; k++) {
      sent.push(`a-${k}`);
      alice.send({ type: 'send', room: roomId, clientId: `a-${k}`, body: `m${k}` });
      if (k === 20) await waitFor(() => acked.size >= 5, 'some acks before the kill');
      if (k === 25) await one.kill('SIGKILL');
    }
    await alice.closedWith();
    const ackedBeforeKill = new Set(acked);
    const lastSeen = Math.max(0, ...alice.seqs(roomId));

    // Reconnect to the surviving instance, resume from the last sequence seen, resend every message not acked.
    alice = await ChatClient.connect(two.url, await t.token('alice'));
    collectAcks(alice);
    await alice.request({ type: 'subscribe', room: roomId, since: lastSeen });
    for (const clientId of sent.filter((id) => !ackedBeforeKill.has(id))) alice.send({ type: 'send', room: roomId, clientId, body: `m${clientId.slice(2)}` });
    await waitFor(() => sent.every((id) => acked.has(id)), 'every message acked');

    const history = (await as('alice')(two.url, 'GET', `/v1/rooms/${roomId}/messages?after=0&limit=200`)).body.messages as { seq: number; clientId: string }[];
    expect(history.map((m) => m.seq)).toEqual(Array.from({ length: history.length }, (_, i) => i + 1));
    expect(history.map((m) => m.clientId).sort()).toEqual([...sent].sort()); // each once: nothing lost, nothing doubled
    await waitFor(() => bob.seqs(roomId).length === sent.length && Math.max(...alice.seqs(roomId)) === sent.length, 'both clients to have all');
    expect(bob.seqs(roomId)).toEqual(Array.from({ length: sent.length }, (_, i) => i + 1));
    const aliceSeen = alice.seqs(roomId);
    expect(aliceSeen).toEqual(Array.from({ length: aliceSeen.length }, (_, i) => lastSeen + i + 1));
    bob.close();
    alice.close();
  });

  it('when an instance dies, then its users go offline for the others after the presence TTL, and a user with a device on the other instance stays online', async () => {
    const roomId = await room('watcher', ['gone', 'both']);
    const watcher = await ChatClient.connect(two.url, await t.token('watcher'));
    await watcher.request({ type: 'subscribe', room: roomId });
    const gone = await ChatClient.connect(one.url, await t.token('gone'));
    await ChatClient.connect(one.url, await t.token('both'));
    const bothHere = await ChatClient.connect(two.url, await t.token('both'));
    await bothHere.request({ type: 'presence', status: 'away' });
    const presence = async () => Object.fromEntries(((await as('watcher')(two.url, 'GET', `/v1/rooms/${roomId}/members`)).body.members as { userSub: string; presence: string }[]).map((m) => [m.userSub, m.presence]));
    await waitFor(async () => (await presence()).gone === 'online', 'gone online');
    expect(await presence()).toEqual({ watcher: 'online', gone: 'online', both: 'online' });

    await one.kill('SIGKILL');
    await gone.closedWith();
    await watcher.next((f: Frame) => f.type === 'presence' && f.user === 'gone' && f.status === 'offline', 'gone offline after the TTL');
    await watcher.next((f: Frame) => f.type === 'presence' && f.user === 'both' && f.status === 'away', 'both away (only the away device is left)');
    expect(await presence()).toEqual({ watcher: 'online', gone: 'offline', both: 'away' });
    watcher.close();
    bothHere.close();
  });
});
