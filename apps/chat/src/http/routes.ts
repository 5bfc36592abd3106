/**
 * The chat's REST side (behind the gateway: the verified user in x-auth-sub,
 * the tenant in x-auth-tenant, row-level security by tenant): rooms and
 * members, direct rooms, history with cursor pagination, posting (the same
 * use case as the WebSocket `send`), edits, deletes, receipts, blocks.
 */
import type { Request, RequestHandler } from 'express';
import type { DbPool } from '@bulwark/db';
import type { RouteRegistrar } from '@bulwark/service-kit';
import { blockedList, setBlocked } from '../domain/blocks.ts';
import type { Publisher } from '../domain/events.ts';
import { acknowledge, deleteMessage, editMessage, history, postMessage } from '../domain/messages.ts';
import { createRoom, joinRoom, membersOf, openDirect, removeMember, setMember } from '../domain/rooms.ts';
import { visibleRoom } from '../domain/access.ts';
import { chatError } from '../errors.ts';
import type { Presence } from '../realtime/presence.ts';
import { listRooms } from '../store/chat-store.ts';
import {
  BlockListResponse,
  CreateRoomBody,
  EditBody,
  HistoryQuery,
  HistoryResponse,
  MemberBody,
  MemberListResponse,
  MemberParams,
  MemberResponse,
  MessageParams,
  MessageResponse,
  PostBody,
  ReceiptBody,
  ReceiptResponse,
  RoomListResponse,
  RoomParams,
  RoomResponse,
  UserParams,
} from './schemas.ts';

const USER_HEADERS = [
  { name: 'x-auth-sub', description: 'The verified user (set by the gateway from the access token).', required: true },
  { name: 'x-auth-tenant', description: "The verified user's tenant (set by the gateway).", required: true },
] as const;

const requireUser: RequestHandler = (req, _res, next) => {
  if (!req.get('x-auth-sub') || !req.get('x-auth-tenant')) return next(chatError('CHAT_LOGIN_REQUIRED', 'chat routes need a logged-in user'));
  next();
};
const who = (req: Request) => ({ user: req.get('x-auth-sub')!, tenant: req.get('x-auth-tenant')! });

export function registerRoutes(r: RouteRegistrar, deps: { pool: DbPool; publish: Publisher; presence: Presence; historyPageMax: number }): void {
  const { pool } = deps;
  const user = { headers: USER_HEADERS, middleware: [requireUser], tags: ['chat'] };
  const login = ['CHAT_LOGIN_REQUIRED'];

  r.post('/v1/rooms', {
    ...user,
    summary: 'Create a public or private room; the caller owns it',
    errors: login,
    body: CreateRoomBody,
    responses: { 201: RoomResponse },
    handler: async ({ req, body }) => {
      const { user: u, tenant } = who(req);
      return { status: 201, body: { room: await createRoom(deps, tenant, u, body), role: 'owner' as const } };
    },
  });
  r.get('/v1/rooms', {
    ...user,
    summary: "The caller's rooms and the tenant's public rooms, newest first",
    errors: login,
    responses: { 200: RoomListResponse },
    handler: async ({ req }) => ({ status: 200, body: { rooms: await listRooms(pool, who(req).user, 500) } }),
  });
  r.get('/v1/rooms/:id', {
    ...user,
    summary: 'A room the caller may see, with the caller\'s role (null: not a member of this public room)',
    errors: [...login, 'CHAT_ROOM_NOT_FOUND'],
    params: RoomParams,
    responses: { 200: RoomResponse },
    handler: async ({ req, params }) => {
      const { room, role } = await visibleRoom(pool, params.id, who(req).user);
      return { status: 200, body: { room, role: role ?? null } };
    },
  });
  r.post('/v1/rooms/:id/join', {
    ...user,
    summary: 'Join a public room (a member already: answered as is)',
    errors: [...login, 'CHAT_ROOM_NOT_FOUND', 'CHAT_PRIVATE_ROOM'],
    params: RoomParams,
    responses: { 200: MemberResponse },
    handler: async ({ req, params }) => ({ status: 200, body: { member: await joinRoom(deps, who(req).tenant, who(req).user, params.id) } }),
  });
  r.get('/v1/rooms/:id/members', {
    ...user,
    summary: "A room's members with their receipt cursors and presence (online, away, offline over every device)",
    errors: [...login, 'CHAT_ROOM_NOT_FOUND'],
    params: RoomParams,
    responses: { 200: MemberListResponse },
    handler: async ({ req, params }) => {
      const { user: u, tenant } = who(req);
      const members = await membersOf(deps, u, params.id);
      const presence = await deps.presence.statusOf(tenant, members.map((m) => m.userSub));
      return { status: 200, body: { members: members.map((m) => ({ ...m, presence: presence.get(m.userSub) ?? 'offline' })) } };
    },
  });
  r.put('/v1/rooms/:id/members/:sub', {
    ...user,
    summary: 'Add a member or change their role (room owners and admins; only an owner makes owners)',
    errors: [...login, 'CHAT_ROOM_NOT_FOUND', 'CHAT_NOT_A_MEMBER', 'CHAT_ROLE_REQUIRED', 'CHAT_PRIVATE_ROOM', 'CHAT_LAST_OWNER'],
    params: MemberParams,
    body: MemberBody,
    responses: { 200: MemberResponse },
    handler: async ({ req, params, body }) => ({ status: 200, body: { member: await setMember(deps, who(req).tenant, who(req).user, params.id, params.sub, body.role) } }),
  });
  r.delete('/v1/rooms/:id/members/:sub', {
    ...user,
    summary: 'Remove a member (owners and admins), or leave (the caller themselves)',
    errors: [...login, 'CHAT_ROOM_NOT_FOUND', 'CHAT_NOT_A_MEMBER', 'CHAT_ROLE_REQUIRED', 'CHAT_LAST_OWNER'],
    params: MemberParams,
    responses: { 204: null },
    handler: async ({ req, params }) => {
      await removeMember(deps, who(req).tenant, who(req).user, params.id, params.sub);
      return { status: 204 };
    },
  });
  r.post('/v1/direct/:sub', {
    ...user,
    summary: 'The direct room of the caller and another user, created on first use (refused when either blocks the other)',
    errors: [...login, 'CHAT_BLOCKED', 'CHAT_SELF_DIRECT'],
    params: UserParams,
    responses: { 200: RoomResponse, 201: RoomResponse },
    handler: async ({ req, params }) => {
      const { room, created } = await openDirect(deps, who(req).tenant, who(req).user, params.sub);
      return { status: created ? 201 : 200, body: { room, role: 'member' as const } };
    },
  });
  r.get('/v1/rooms/:id/messages', {
    ...user,
    summary: 'History with cursor pagination: after a sequence (oldest first, to resume) or before one (newest first)',
    errors: [...login, 'CHAT_ROOM_NOT_FOUND', 'CHAT_NOT_A_MEMBER'],
    params: RoomParams,
    query: HistoryQuery,
    responses: { 200: HistoryResponse },
    handler: async ({ req, params, query }) => {
      const [dir, value] = query.cursor ? (query.cursor.split(':') as ['after' | 'before', string]) : [undefined, undefined];
      const after = dir === 'after' ? Number(value) : query.after;
      const before = dir === 'before' ? Number(value) : query.before;
      const page = { ...(after !== undefined ? { after } : {}), ...(before !== undefined ? { before } : {}), limit: Math.min(query.limit, deps.historyPageMax) };
      return { status: 200, body: await history(deps, who(req).user, params.id, page) };
    },
  });
  r.post('/v1/rooms/:id/messages', {
    ...user,
    summary: 'Post a message (as the WebSocket `send`): 201 with its sequence number, 200 with the first one for a repeated clientId',
    errors: [...login, 'CHAT_ROOM_NOT_FOUND', 'CHAT_NOT_A_MEMBER', 'CHAT_CLIENT_ID_REUSED'],
    params: RoomParams,
    body: PostBody,
    responses: { 200: MessageResponse, 201: MessageResponse },
    handler: async ({ req, params, body }) => {
      const { message, created } = await postMessage(deps, who(req).tenant, who(req).user, params.id, body);
      return { status: created ? 201 : 200, body: { message, duplicate: !created } };
    },
  });
  r.patch('/v1/rooms/:id/messages/:seq', {
    ...user,
    summary: "Edit one's own message",
    errors: [...login, 'CHAT_ROOM_NOT_FOUND', 'CHAT_NOT_A_MEMBER', 'CHAT_MESSAGE_NOT_FOUND', 'CHAT_NOT_YOUR_MESSAGE', 'CHAT_MESSAGE_DELETED'],
    params: MessageParams,
    body: EditBody,
    responses: { 200: MessageResponse },
    handler: async ({ req, params, body }) => ({ status: 200, body: { message: await editMessage(deps, who(req).tenant, who(req).user, params.id, params.seq, body.body) } }),
  });
  r.delete('/v1/rooms/:id/messages/:seq', {
    ...user,
    summary: 'Delete a message (its sender, or a room owner or admin); it keeps its sequence number with an empty body',
    errors: [...login, 'CHAT_ROOM_NOT_FOUND', 'CHAT_NOT_A_MEMBER', 'CHAT_MESSAGE_NOT_FOUND', 'CHAT_NOT_YOUR_MESSAGE'],
    params: MessageParams,
    responses: { 200: MessageResponse },
    handler: async ({ req, params }) => ({ status: 200, body: { message: await deleteMessage(deps, who(req).tenant, who(req).user, params.id, params.seq) } }),
  });
  r.post('/v1/rooms/:id/receipts', {
    ...user,
    summary: "Move the caller's delivered or read cursor forward (read implies delivered)",
    errors: [...login, 'CHAT_NOT_A_MEMBER'],
    params: RoomParams,
    body: ReceiptBody,
    responses: { 200: ReceiptResponse },
    handler: async ({ req, params, body }) => ({ status: 200, body: { kind: body.kind, seq: await acknowledge(deps, who(req).tenant, who(req).user, params.id, body.kind, body.seq) } }),
  });
  r.get('/v1/blocks', {
    ...user,
    summary: 'The users the caller blocks',
    errors: login,
    responses: { 200: BlockListResponse },
    handler: async ({ req }) => ({ status: 200, body: { blocked: await blockedList(pool, who(req).user) } }),
  });
  r.put('/v1/blocks/:sub', {
    ...user,
    summary: "Block a user: their messages reach none of the caller's connections (a `hidden` frame keeps the sequence), no direct room between them",
    errors: [...login, 'CHAT_SELF_DIRECT'],
    params: UserParams,
    responses: { 200: BlockListResponse },
    handler: async ({ req, params }) => ({ status: 200, body: { blocked: await setBlocked(deps, who(req).tenant, who(req).user, params.sub, true) } }),
  });
  r.delete('/v1/blocks/:sub', {
    ...user,
    summary: 'Unblock a user',
    errors: [...login, 'CHAT_SELF_DIRECT'],
    params: UserParams,
    responses: { 200: BlockListResponse },
    handler: async ({ req, params }) => ({ status: 200, body: { blocked: await setBlocked(deps, who(req).tenant, who(req).user, params.sub, false) } }),
  });
}
