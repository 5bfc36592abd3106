/**
 * Rooms and membership: create (the creator owns it), join a public room,
 * add/remove/re-role members (owners and admins), leave, and the direct room
 * of two users (one per pair, refused when either blocks the other). Each
 * membership change is published so instances subscribe or drop the user's
 * open connections.
 */
import { randomUUID } from 'node:crypto';
import { withTransaction, type DbPool } from '@bulwark/db';
import { chatError } from '../errors.ts';
import {
  countOwners,
  deleteMember,
  eitherBlocks,
  ensureMember,
  findDirectRoom,
  insertRoom,
  listMembers,
  roleOf,
  upsertMember,
  type Member,
  type Room,
  type RoomRole,
} from '../store/chat-store.ts';
import { assertManager, visibleRoom } from './access.ts';
import type { Publisher } from './events.ts';

export interface RoomDeps {
  pool: DbPool;
  publish: Publisher;
}

export async function createRoom(deps: RoomDeps, tenant: string, user: string, input: { name: string; kind: 'public' | 'private'; members?: string[] }): Promise<Room> {
  const room = await withTransaction(deps.pool, async (tx) => {
    const created = await insertRoom(tx, { id: randomUUID(), kind: input.kind, name: input.name, createdBy: user });
    await upsertMember(tx, created.id, user, 'owner');
    for (const member of new Set(input.members ?? [])) if (member !== user) await ensureMember(tx, created.id, member);
    return created;
  });
  for (const member of new Set([user, ...(input.members ?? [])])) await deps.publish.room(tenant, { type: 'member', room: room.id, user: member, role: member === user ? 'owner' : 'member' });
  return room;
}

export async function joinRoom(deps: RoomDeps, tenant: string, user: string, roomId: string): Promise<Member> {
  const { room, role } = await visibleRoom(deps.pool, roomId, user);
  if (role !== undefined) return (await listMembers(deps.pool, roomId)).find((m) => m.userSub === user)!;
  if (room.kind !== 'public') throw chatError('CHAT_PRIVATE_ROOM', `room ${roomId} is private`, { room: roomId });
  const member = await upsertMember(deps.pool, roomId, user, 'member');
  await deps.publish.room(tenant, { type: 'member', room: roomId, user, role: 'member' });
  return member;
}

export async function setMember(deps: RoomDeps, tenant: string, actor: string, roomId: string, target: string, role: RoomRole): Promise<Member> {
  const member = await withTransaction(deps.pool, async (tx) => {
    const room = await assertManager(tx, roomId, actor);
    if (room.kind === 'direct') throw chatError('CHAT_PRIVATE_ROOM', 'a direct room keeps its two members', { room: roomId });
    const current = await roleOf(tx, roomId, target);
    if (role === 'owner' && (await roleOf(tx, roomId, actor)) !== 'owner') throw chatError('CHAT_ROLE_REQUIRED', 'only an owner makes another owner', { role: 'owner' });
    if (current === 'owner' && role !== 'owner' && (await countOwners(tx, roomId)) <= 1) throw chatError('CHAT_LAST_OWNER', 'the room would have no owner', { room: roomId });
    return upsertMember(tx, roomId, target, role);
  });
  await deps.publish.room(tenant, { type: 'member', room: roomId, user: target, role });
  return member;
}

/** Removes `target` (a manager removing someone, or anyone leaving). */
export async function removeMember(deps: RoomDeps, tenant: string, actor: string, roomId: string, target: string): Promise<void> {
  await withTransaction(deps.pool, async (tx) => {
    if (actor !== target) await assertManager(tx, roomId, actor);
    else await visibleRoom(tx, roomId, actor);
    const role = await roleOf(tx, roomId, target);
    if (role === 'owner' && (await countOwners(tx, roomId)) <= 1) throw chatError('CHAT_LAST_OWNER', 'the room would have no owner', { room: roomId });
    await deleteMember(tx, roomId, target);
  });
  await deps.publish.room(tenant, { type: 'member', room: roomId, user: target, role: null });
}

export async function membersOf(deps: RoomDeps, user: string, roomId: string): Promise<Member[]> {
  await visibleRoom(deps.pool, roomId, user);
  return listMembers(deps.pool, roomId);
}

/** The direct room of `user` and `other`, created on first use. */
export async function openDirect(deps: RoomDeps, tenant: string, user: string, other: string): Promise<{ room: Room; created: boolean }> {
  if (user === other) throw chatError('CHAT_SELF_DIRECT', 'a direct room needs two different users');
  const directKey = [user, other].sort().join(' ');
  const result = await withTransaction(deps.pool, async (tx) => {
    if (await eitherBlocks(tx, user, other)) throw chatError('CHAT_BLOCKED', 'one of the two users blocks the other');
    const existing = await findDirectRoom(tx, directKey);
    if (existing) return { room: existing, created: false };
    const room = await insertRoom(tx, { id: randomUUID(), kind: 'direct', name: directKey, createdBy: user, directKey });
    await upsertMember(tx, room.id, user, 'member');
    await upsertMember(tx, room.id, other, 'member');
    return { room, created: true };
  }, { isolation: 'serializable' });
  if (result.created) for (const member of [user, other]) await deps.publish.room(tenant, { type: 'member', room: result.room.id, user: member, role: 'member' });
  return result;
}
