/**
 * Who may see and act in a room: a private or direct room exists only for
 * its members (404 otherwise, like a missing one); a public room is visible
 * to the tenant, its history and posting are for members.
 */
import type { Queryable } from '@bulwark/db';
import { chatError } from '../errors.ts';
import { findRoom, roleOf, type Room, type RoomRole } from '../store/chat-store.ts';

export async function visibleRoom(db: Queryable, roomId: string, user: string): Promise<{ room: Room; role: RoomRole | undefined }> {
  const room = await findRoom(db, roomId);
  const role = room ? await roleOf(db, roomId, user) : undefined;
  if (!room || (room.kind !== 'public' && role === undefined)) throw chatError('CHAT_ROOM_NOT_FOUND', `room ${roomId} does not exist`, { room: roomId });
  return { room, role };
}

export async function assertMember(db: Queryable, roomId: string, user: string): Promise<{ room: Room; role: RoomRole }> {
  const { room, role } = await visibleRoom(db, roomId, user);
  if (role === undefined) throw chatError('CHAT_NOT_A_MEMBER', `${user} is not a member of room ${roomId}`, { room: roomId });
  return { room, role };
}

export async function assertManager(db: Queryable, roomId: string, user: string): Promise<Room> {
  const { room, role } = await assertMember(db, roomId, user);
  if (role !== 'owner' && role !== 'admin') throw chatError('CHAT_ROLE_REQUIRED', 'managing members needs the room role owner or admin', { role: 'admin' });
  return room;
}
