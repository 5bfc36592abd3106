/**
 * Through the real gateway (in-process, the checked-in routes.json, a real
 * JWKS): REST under /v1/chat/… with the verified user in x-auth-*, and the
 * WebSocket upgrade of /v1/chat/ws tunnelled to chat with the token
 * forwarded; refusals at the gateway are its problem+json, and a token the
 * gateway let through but of another tenant than asked is closed by chat.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { redisUrl } from '@bulwark/test-support';
import { startGateway, type TestGateway } from '../../gateway/test/support.ts';
import { CLOSE } from '../src/realtime/protocol.ts';
import { ChatClient, OTHER_TENANT, setupChat, TEST_TENANT, type TestChat } from './support.ts';

let t: TestChat;
let gateway: TestGateway;

beforeAll(async () => {
  t = await setupChat();
  const { url } = await t.start();
  const routes = JSON.parse(readFileSync(new URL('../../gateway/routes.json', import.meta.url), 'utf8')) as { upstreams: Record<string, { url?: string }> };
  // The checked-in routes with chat's address; the other upstreams are not started (a closed port).
  for (const [name, upstream] of Object.entries(routes.upstreams)) upstream.url = name === 'chat' ? url : 'http://127.0.0.1:9';
  gateway = await startGateway(routes, { JWKS_URL: t.issuer.jwksUrl, JWT_AUDIENCE: 'bulwark', REDIS_URL: redisUrl() });
});
afterAll(async () => {
  await gateway?.stop();
  await t.cleanup();
});

const api = async (token: string, method: string, path: string, body?: unknown) => {
  const res = await fetch(`${gateway.url}${path}`, { method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) });
  return { status: res.status, body: (await res.json().catch(() => undefined)) as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
};

describe('through the gateway', () => {
  it('when a user creates a room and talks over the tunnelled WebSocket, then the message is acked, delivered and in the history', async () => {
    const alice = await t.token('alice');
    const created = await api(alice, 'POST', '/v1/chat/rooms', { name: 'lobby', kind: 'private', members: ['bob'] });
    expect(created.status).toBe(201);
    const room = created.body.room.id as string;
    const a = await ChatClient.connect(gateway.url, alice);
    const b = await ChatClient.connect(gateway.url, await t.token('bob'));
    for (const c of [a, b]) expect((await c.request({ type: 'subscribe', room, since: 0 })).type).toBe('subscribed');
    expect(await a.request({ type: 'send', room, clientId: 'g1', body: 'through the gateway' })).toMatchObject({ type: 'ack', seq: 1 });
    await b.next((f) => f.type === 'message' && f.room === room, 'the message at bob');
    expect((await api(alice, 'GET', `/v1/chat/rooms/${room}/messages?after=0`)).body.messages).toMatchObject([{ seq: 1, senderSub: 'alice', body: 'through the gateway' }]);
    a.close();
    b.close();
  });

  it('when the upgrade has no token or a forged one, then the gateway refuses it; a valid token asking for another tenant is closed 4004 by chat', async () => {
    const anonymous = new ChatClient(gateway.url);
    await expect(anonymous.opened).rejects.toThrow(/401/);
    const forged = new ChatClient(gateway.url, { token: `${(await t.token('alice')).slice(0, -4)}AAAA` });
    await expect(forged.opened).rejects.toThrow(/401/);
    const other = new ChatClient(gateway.url, { token: await t.token('alice', { tenant: OTHER_TENANT }), query: `tenant=${TEST_TENANT}` });
    expect(await other.closedWith()).toMatchObject({ code: CLOSE.TENANT_MISMATCH });
  });
});
