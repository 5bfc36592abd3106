/**
 * The REST side against the real service, PostgreSQL (row-level security)
 * and Redis: rooms and roles, direct rooms and blocks, history pages, edits,
 * deletes, receipts, tenant isolation and bad input as problem+json.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { as, OTHER_TENANT, setupChat, type TestChat } from './support.ts';

let t: TestChat;
let url: string;
const alice = as('alice');
const bob = as('bob');
const carol = as('carol');

beforeAll(async () => {
  t = await setupChat();
  ({ url } = await t.start());
});
afterAll(async () => {
  await t.cleanup();
});

async function room(kind: 'public' | 'private' = 'public', members: string[] = []): Promise<string> {
  const res = await alice(url, 'POST', '/v1/rooms', { name: `r-${kind}`, kind, members });
  expect(res.status).toBe(201);
  return res.body.room.id as string;
}

describe('rooms and members', () => {
  it('when a user creates a private room, then they own it, others do not see it, and an owner adds members with roles', async () => {
    const id = await room('private');
    expect((await alice(url, 'GET', `/v1/rooms/${id}`)).body).toMatchObject({ role: 'owner', room: { kind: 'private', lastSeq: 0 } });
    expect((await bob(url, 'GET', `/v1/rooms/${id}`)).body.code).toBe('CHAT_ROOM_NOT_FOUND');
    expect((await bob(url, 'POST', `/v1/rooms/${id}/join`)).status).toBe(404);
    expect((await alice(url, 'PUT', `/v1/rooms/${id}/members/bob`, { role: 'admin' })).body.member).toMatchObject({ userSub: 'bob', role: 'admin' });
    expect((await bob(url, 'PUT', `/v1/rooms/${id}/members/carol`, { role: 'owner' })).body.code).toBe('CHAT_ROLE_REQUIRED');
    expect((await bob(url, 'PUT', `/v1/rooms/${id}/members/carol`, {})).status).toBe(200);
    expect((await carol(url, 'PUT', `/v1/rooms/${id}/members/dave`, {})).body.code).toBe('CHAT_ROLE_REQUIRED');
    expect((await alice(url, 'DELETE', `/v1/rooms/${id}/members/alice`)).body.code).toBe('CHAT_LAST_OWNER');
    expect((await carol(url, 'DELETE', `/v1/rooms/${id}/members/carol`)).status).toBe(204);
    const members = (await alice(url, 'GET', `/v1/rooms/${id}/members`)).body.members;
    expect(members.map((m: { userSub: string; presence: string }) => [m.userSub, m.presence])).toEqual([['alice', 'offline'], ['bob', 'offline']]);
  });

  it('when a public room exists, then any user of the tenant joins it, and a user of another tenant does not see it', async () => {
    const id = await room('public');
    expect((await bob(url, 'POST', `/v1/rooms/${id}/messages`, { clientId: 'c1', body: 'hi' })).body.code).toBe('CHAT_NOT_A_MEMBER');
    expect((await bob(url, 'POST', `/v1/rooms/${id}/join`)).body.member).toMatchObject({ role: 'member' });
    expect((await bob(url, 'GET', '/v1/rooms')).body.rooms.some((r: { id: string }) => r.id === id)).toBe(true);
    const stranger = as('bob', OTHER_TENANT);
    expect((await stranger(url, 'GET', `/v1/rooms/${id}`)).status).toBe(404);
    expect((await stranger(url, 'GET', '/v1/rooms')).body.rooms).toEqual([]);
  });

  it('when two users open their direct room twice, then it is one room; after a block it is refused', async () => {
    const first = await alice(url, 'POST', '/v1/direct/erin');
    expect(first.status).toBe(201);
    const again = await as('erin')(url, 'POST', '/v1/direct/alice');
    expect(again.status).toBe(200);
    expect(again.body.room.id).toBe(first.body.room.id);
    expect((await alice(url, 'POST', '/v1/direct/alice')).body.code).toBe('CHAT_SELF_DIRECT');
    expect((await as('frank')(url, 'PUT', '/v1/blocks/alice')).body.blocked).toEqual(['alice']);
    expect((await alice(url, 'POST', '/v1/direct/frank')).body.code).toBe('CHAT_BLOCKED');
    expect((await as('frank')(url, 'DELETE', '/v1/blocks/alice')).body.blocked).toEqual([]);
    expect((await alice(url, 'POST', '/v1/direct/frank')).status).toBe(201);
  });
});

describe('messages', () => {
  it('when messages are posted, then they are numbered 1..n without gaps, a resent clientId is the same message, and history pages by cursor both ways', async () => {
    const id = await room();
    const posted = await Promise.all(Array.from({ length: 12 }, (_, i) => alice(url, 'POST', `/v1/rooms/${id}/messages`, { clientId: `m${i}`, body: `hello ${i}` })));
    expect(posted.map((p) => p.status)).toEqual(Array(12).fill(201));
    expect(posted.map((p) => p.body.message.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    const resent = await alice(url, 'POST', `/v1/rooms/${id}/messages`, { clientId: 'm3', body: 'hello 3' });
    expect(resent.status).toBe(200);
    expect(resent.body).toMatchObject({ duplicate: true, message: { seq: posted[3]!.body.message.seq } });
    expect((await alice(url, 'POST', `/v1/rooms/${id}/messages`, { clientId: 'm3', body: 'other' })).body.code).toBe('CHAT_CLIENT_ID_REUSED');

    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const page: { status: number; body: { messages: { seq: number }[]; nextCursor: string | null } } = await alice(url, 'GET', `/v1/rooms/${id}/messages?limit=5${cursor ? `&cursor=${cursor}` : '&after=0'}`);
      seen.push(...page.body.messages.map((m) => m.seq));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    const newest = await alice(url, 'GET', `/v1/rooms/${id}/messages?limit=5`);
    expect(newest.body.messages.map((m: { seq: number }) => m.seq)).toEqual([12, 11, 10, 9, 8]);
    const older = await alice(url, 'GET', `/v1/rooms/${id}/messages?limit=5&cursor=${newest.body.nextCursor}`);
    expect(older.body.messages.map((m: { seq: number }) => m.seq)).toEqual([7, 6, 5, 4, 3]);
  });

  it('when the same clientId is posted many times at once, then it is one message and the next one takes the next number (a raced resend leaves no hole)', async () => {
    const id = await room();
    for (let round = 0; round < 3; round++) {
      const posted = await Promise.all(Array.from({ length: 8 }, () => alice(url, 'POST', `/v1/rooms/${id}/messages`, { clientId: `same-${round}`, body: 'once' })));
      expect(new Set(posted.map((p) => p.body.message.seq)).size).toBe(1);
    }
    const next = await alice(url, 'POST', `/v1/rooms/${id}/messages`, { clientId: 'after', body: 'next' });
    expect(next.body.message.seq).toBe(4);
    const history = await alice(url, 'GET', `/v1/rooms/${id}/messages?after=0&limit=10`);
    expect(history.body.messages.map((m: { seq: number }) => m.seq)).toEqual([1, 2, 3, 4]);
  });

  it('when a message is edited or deleted, then only its sender edits it, an admin may delete it, and it keeps its number', async () => {
    const id = await room('public');
    await bob(url, 'POST', `/v1/rooms/${id}/join`);
    const seq = (await bob(url, 'POST', `/v1/rooms/${id}/messages`, { clientId: 'e1', body: 'tpyo', attachments: [{ fileId: 'f-1', name: 'a.png', contentType: 'image/png', size: 10 }] })).body.message.seq;
    expect((await alice(url, 'PATCH', `/v1/rooms/${id}/messages/${seq}`, { body: 'x' })).body.code).toBe('CHAT_NOT_YOUR_MESSAGE');
    expect((await bob(url, 'PATCH', `/v1/rooms/${id}/messages/${seq}`, { body: 'typo' })).body.message).toMatchObject({ body: 'typo', editedAt: expect.any(String) });
    expect((await bob(url, 'PATCH', `/v1/rooms/${id}/messages/99`, { body: 'x' })).body.code).toBe('CHAT_MESSAGE_NOT_FOUND');
    expect((await alice(url, 'DELETE', `/v1/rooms/${id}/messages/${seq}`)).body.message).toMatchObject({ seq, body: '', attachments: [], deletedAt: expect.any(String) });
    expect((await bob(url, 'PATCH', `/v1/rooms/${id}/messages/${seq}`, { body: 'again' })).body.code).toBe('CHAT_MESSAGE_DELETED');
    expect((await bob(url, 'GET', `/v1/rooms/${id}/messages?after=0`)).body.messages.map((m: { seq: number }) => m.seq)).toEqual([seq]);
  });

  it('when receipts are sent, then the cursors only move forward, never past the last message, and read implies delivered', async () => {
    const id = await room();
    for (let i = 0; i < 3; i++) await alice(url, 'POST', `/v1/rooms/${id}/messages`, { clientId: `r${i}`, body: 'x' });
    expect((await alice(url, 'POST', `/v1/rooms/${id}/receipts`, { kind: 'read', seq: 2 })).body).toEqual({ kind: 'read', seq: 2 });
    expect((await alice(url, 'POST', `/v1/rooms/${id}/receipts`, { kind: 'delivered', seq: 1 })).body).toEqual({ kind: 'delivered', seq: 2 });
    expect((await alice(url, 'POST', `/v1/rooms/${id}/receipts`, { kind: 'read', seq: 50 })).body).toEqual({ kind: 'read', seq: 3 });
    expect((await bob(url, 'POST', `/v1/rooms/${id}/receipts`, { kind: 'read', seq: 1 })).body.code).toBe('CHAT_NOT_A_MEMBER');
  });
});

describe('bad input', () => {
  it('when a request is malformed or anonymous, then it is a 4xx problem+json', async () => {
    const anonymous = await as('')(url, 'GET', '/v1/rooms');
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.code).toBe('CHAT_LOGIN_REQUIRED');
    expect(anonymous.headers.get('content-type')).toContain('application/problem+json');
    expect((await alice(url, 'POST', '/v1/rooms', { name: '' })).status).toBe(400);
    expect((await alice(url, 'GET', '/v1/rooms/not-a-uuid')).status).toBe(400);
    const id = await room();
    expect((await alice(url, 'GET', `/v1/rooms/${id}/messages?after=1&before=3`)).status).toBe(400);
    expect((await alice(url, 'POST', `/v1/rooms/${id}/messages`, { clientId: 'x', body: 'y'.repeat(16_001) })).status).toBe(400);
  });
});
