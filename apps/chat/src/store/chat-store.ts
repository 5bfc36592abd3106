/**
 * SQL of the chat: rooms, members, messages, blocks. Plain objects out;
 * every statement runs under the caller's tenant context (row-level
 * security), transactions are the domain's.
 */
import type { Queryable } from '@bulwark/db';

export type RoomKind = 'public' | 'private' | 'direct';
export type RoomRole = 'owner' | 'admin' | 'member';

export interface Room {
  id: string;
  kind: RoomKind;
  name: string;
  createdBy: string;
  lastSeq: number;
  createdAt: string;
}

export interface Member {
  userSub: string;
  role: RoomRole;
  deliveredSeq: number;
  readSeq: number;
  joinedAt: string;
}

export interface Attachment {
  fileId: string;
  name: string;
  contentType: string;
  size: number;
}

export interface Message {
  roomId: string;
  seq: number;
  id: string;
  senderSub: string;
  clientId: string;
  body: string;
  attachments: Attachment[];
  createdAt: string;
  editedAt: string | null;
  deletedAt: string | null;
}

interface RoomRow {
  id: string;
  kind: RoomKind;
  name: string;
  created_by: string;
  last_seq: string;
  created_at: Date;
}

interface MessageRow {
  room_id: string;
  seq: string;
  id: string;
  sender_sub: string;
  client_id: string;
  body: string;
  attachments: Attachment[];
  created_at: Date;
  edited_at: Date | null;
  deleted_at: Date | null;
}

const ROOM_COLUMNS = 'id, kind, name, created_by, last_seq, created_at';
const MESSAGE_COLUMNS = 'room_id, seq, id, sender_sub, client_id, body, attachments, created_at, edited_at, deleted_at';

const toRoom = (r: RoomRow): Room => ({ id: r.id, kind: r.kind, name: r.name, createdBy: r.created_by, lastSeq: Number(r.last_seq), createdAt: r.created_at.toISOString() });

/** A deleted message keeps its place in the sequence; its body and attachments are gone. */
export const toMessage = (r: MessageRow): Message => ({
  roomId: r.room_id,
  seq: Number(r.seq),
  id: r.id,
  senderSub: r.sender_sub,
  clientId: r.client_id,
  body: r.deleted_at ? '' : r.body,
  attachments: r.deleted_at ? [] : r.attachments,
  createdAt: r.created_at.toISOString(),
  editedAt: r.edited_at?.toISOString() ?? null,
  deletedAt: r.deleted_at?.toISOString() ?? null,
});

export async function insertRoom(db: Queryable, room: { id: string; kind: RoomKind; name: string; createdBy: string; directKey?: string }): Promise<Room> {
  const { rows } = await db.query<RoomRow>({
    name: 'chat.room.insert',
    text: `INSERT INTO rooms (id, kind, name, created_by, direct_key) VALUES ($1, $2, $3, $4, $5) RETURNING ${ROOM_COLUMNS}`,
    values: [room.id, room.kind, room.name, room.createdBy, room.directKey ?? null],
  });
  return toRoom(rows[0]!);
}

export async function findDirectRoom(db: Queryable, directKey: string): Promise<Room | undefined> {
  const { rows } = await db.query<RoomRow>({ name: 'chat.room.direct', text: `SELECT ${ROOM_COLUMNS} FROM rooms WHERE direct_key = $1`, values: [directKey] });
  return rows[0] ? toRoom(rows[0]) : undefined;
}

export async function findRoom(db: Queryable, roomId: string): Promise<Room | undefined> {
  const { rows } = await db.query<RoomRow>({ name: 'chat.room.find', text: `SELECT ${ROOM_COLUMNS} FROM rooms WHERE id = $1`, values: [roomId] });
  return rows[0] ? toRoom(rows[0]) : undefined;
}

/** The rooms a user is in, and the public rooms, newest first. */
export async function listRooms(db: Queryable, userSub: string, limit: number): Promise<(Room & { role: RoomRole | null })[]> {
  const { rows } = await db.query<RoomRow & { role: RoomRole | null }>({
    name: 'chat.room.list',
    text: `SELECT r.id, r.kind, r.name, r.created_by, r.last_seq, r.created_at, m.role
             FROM rooms r LEFT JOIN room_members m ON m.tenant_id = r.tenant_id AND m.room_id = r.id AND m.user_sub = $1
            WHERE m.user_sub IS NOT NULL OR r.kind = 'public'
            ORDER BY r.created_at DESC LIMIT $2`,
    values: [userSub, limit],
  });
  return rows.map((r) => ({ ...toRoom(r), role: r.role }));
}

export async function upsertMember(db: Queryable, roomId: string, userSub: string, role: RoomRole): Promise<Member> {
  const { rows } = await db.query<{ user_sub: string; role: RoomRole; delivered_seq: string; read_seq: string; joined_at: Date }>({
    name: 'chat.member.upsert',
    text: `INSERT INTO room_members (room_id, user_sub, role) VALUES ($1, $2, $3)
           ON CONFLICT (tenant_id, room_id, user_sub) DO UPDATE SET role = EXCLUDED.role
           RETURNING user_sub, role, delivered_seq, read_seq, joined_at`,
    values: [roomId, userSub, role],
  });
  const r = rows[0]!;
  return { userSub: r.user_sub, role: r.role, deliveredSeq: Number(r.delivered_seq), readSeq: Number(r.read_seq), joinedAt: r.joined_at.toISOString() };
}

/** Adds the user as a member unless they are one already (their role is kept). */
export async function ensureMember(db: Queryable, roomId: string, userSub: string): Promise<void> {
  await db.query({ name: 'chat.member.ensure', text: `INSERT INTO room_members (room_id, user_sub, role) VALUES ($1, $2, 'member') ON CONFLICT DO NOTHING`, values: [roomId, userSub] });
}

export async function deleteMember(db: Queryable, roomId: string, userSub: string): Promise<boolean> {
  const { rowCount } = await db.query({ name: 'chat.member.delete', text: 'DELETE FROM room_members WHERE room_id = $1 AND user_sub = $2', values: [roomId, userSub] });
  return (rowCount ?? 0) > 0;
}

export async function roleOf(db: Queryable, roomId: string, userSub: string): Promise<RoomRole | undefined> {
  const { rows } = await db.query<{ role: RoomRole }>({ name: 'chat.member.role', text: 'SELECT role FROM room_members WHERE room_id = $1 AND user_sub = $2', values: [roomId, userSub] });
  return rows[0]?.role;
}

export async function countOwners(db: Queryable, roomId: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>({ name: 'chat.member.owners', text: "SELECT count(*)::int AS n FROM room_members WHERE room_id = $1 AND role = 'owner'", values: [roomId] });
  return rows[0]!.n;
}

export async function listMembers(db: Queryable, roomId: string): Promise<Member[]> {
  const { rows } = await db.query<{ user_sub: string; role: RoomRole; delivered_seq: string; read_seq: string; joined_at: Date }>({
    name: 'chat.member.list',
    text: 'SELECT user_sub, role, delivered_seq, read_seq, joined_at FROM room_members WHERE room_id = $1 ORDER BY joined_at, user_sub LIMIT 10000',
    values: [roomId],
  });
  return rows.map((r) => ({ userSub: r.user_sub, role: r.role, deliveredSeq: Number(r.delivered_seq), readSeq: Number(r.read_seq), joinedAt: r.joined_at.toISOString() }));
}

/** The rooms of several users in one statement (presence changes announced together); a user in none is absent. */
export async function roomIdsOfEach(db: Queryable, userSubs: readonly string[]): Promise<Map<string, string[]>> {
  const { rows } = await db.query<{ user_sub: string; rooms: string[] }>({
    name: 'chat.member.rooms-each',
    text: 'SELECT user_sub, array_agg(room_id::text) AS rooms FROM room_members WHERE user_sub = ANY($1::text[]) GROUP BY user_sub',
    values: [userSubs],
  });
  return new Map(rows.map((r) => [r.user_sub, r.rooms]));
}

/** Takes the room's next sequence number; the room row stays locked until the transaction ends (the order of commits is the order of numbers). */
export async function nextSeq(db: Queryable, roomId: string): Promise<number | undefined> {
  const { rows } = await db.query<{ last_seq: string }>({ name: 'chat.room.next-seq', text: 'UPDATE rooms SET last_seq = last_seq + 1 WHERE id = $1 RETURNING last_seq', values: [roomId] });
  return rows[0] ? Number(rows[0].last_seq) : undefined;
}

export async function insertMessage(db: Queryable, m: { roomId: string; seq: number; id: string; senderSub: string; clientId: string; body: string; attachments: Attachment[] }): Promise<Message> {
  const { rows } = await db.query<MessageRow>({
    name: 'chat.message.insert',
    text: `INSERT INTO messages (room_id, seq, id, sender_sub, client_id, body, attachments) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${MESSAGE_COLUMNS}`,
    values: [m.roomId, m.seq, m.id, m.senderSub, m.clientId, m.body, JSON.stringify(m.attachments)],
  });
  return toMessage(rows[0]!);
}

export async function findMessageByClientId(db: Queryable, roomId: string, senderSub: string, clientId: string): Promise<Message | undefined> {
  const { rows } = await db.query<MessageRow>({
    name: 'chat.message.by-client-id',
    text: `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE room_id = $1 AND sender_sub = $2 AND client_id = $3`,
    values: [roomId, senderSub, clientId],
  });
  return rows[0] ? toMessage(rows[0]) : undefined;
}

export async function findMessage(db: Queryable, roomId: string, seq: number, forUpdate = false): Promise<Message | undefined> {
  const { rows } = await db.query<MessageRow>({
    name: forUpdate ? 'chat.message.find-for-update' : 'chat.message.find',
    text: `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE room_id = $1 AND seq = $2${forUpdate ? ' FOR UPDATE' : ''}`,
    values: [roomId, seq],
  });
  return rows[0] ? toMessage(rows[0]) : undefined;
}

/** Messages after `after` (oldest first), or before `before` (newest first). */
export async function listMessages(db: Queryable, roomId: string, page: { after?: number; before?: number; limit: number }): Promise<Message[]> {
  if (page.after !== undefined) {
    const { rows } = await db.query<MessageRow>({
      name: 'chat.message.after',
      text: `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE room_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
      values: [roomId, page.after, page.limit],
    });
    return rows.map(toMessage);
  }
  const { rows } = await db.query<MessageRow>({
    name: 'chat.message.before',
    text: `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE room_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3`,
    values: [roomId, page.before ?? Number.MAX_SAFE_INTEGER, page.limit],
  });
  return rows.map(toMessage);
}

export async function updateMessageBody(db: Queryable, roomId: string, seq: number, body: string): Promise<Message> {
  const { rows } = await db.query<MessageRow>({
    name: 'chat.message.edit',
    text: `UPDATE messages SET body = $3, edited_at = now() WHERE room_id = $1 AND seq = $2 RETURNING ${MESSAGE_COLUMNS}`,
    values: [roomId, seq, body],
  });
  return toMessage(rows[0]!);
}

export async function markMessageDeleted(db: Queryable, roomId: string, seq: number): Promise<Message> {
  const { rows } = await db.query<MessageRow>({
    name: 'chat.message.delete',
    text: `UPDATE messages SET deleted_at = coalesce(deleted_at, now()), body = '', attachments = '[]' WHERE room_id = $1 AND seq = $2 RETURNING ${MESSAGE_COLUMNS}`,
    values: [roomId, seq],
  });
  return toMessage(rows[0]!);
}

/** Moves a member's receipt cursor forward (never back, never past the room's last message); the new value, undefined when not a member. */
export async function advanceReceipt(db: Queryable, roomId: string, userSub: string, kind: 'delivered' | 'read', seq: number): Promise<number | undefined> {
  const column = kind === 'read' ? 'read_seq' : 'delivered_seq';
  const { rows } = await db.query<{ v: string }>({
    name: `chat.member.receipt-${kind}`,
    text: `UPDATE room_members m SET ${column} = greatest(m.${column}, least($3::bigint, r.last_seq))
             FROM rooms r WHERE r.tenant_id = m.tenant_id AND r.id = m.room_id AND m.room_id = $1 AND m.user_sub = $2
           RETURNING m.${column} AS v`,
    values: [roomId, userSub, seq],
  });
  return rows[0] ? Number(rows[0].v) : undefined;
}

export async function insertBlock(db: Queryable, blocker: string, blocked: string): Promise<void> {
  await db.query({ name: 'chat.block.insert', text: 'INSERT INTO blocks (blocker_sub, blocked_sub) VALUES ($1, $2) ON CONFLICT DO NOTHING', values: [blocker, blocked] });
}

export async function deleteBlock(db: Queryable, blocker: string, blocked: string): Promise<void> {
  await db.query({ name: 'chat.block.delete', text: 'DELETE FROM blocks WHERE blocker_sub = $1 AND blocked_sub = $2', values: [blocker, blocked] });
}

export async function blockedBy(db: Queryable, blocker: string): Promise<string[]> {
  const { rows } = await db.query<{ blocked_sub: string }>({ name: 'chat.block.list', text: 'SELECT blocked_sub FROM blocks WHERE blocker_sub = $1 ORDER BY blocked_sub LIMIT 10000', values: [blocker] });
  return rows.map((r) => r.blocked_sub);
}

/** The blocked lists of several blockers in one statement (connections opening together); a blocker with none is absent. */
export async function blockedByEach(db: Queryable, blockers: readonly string[]): Promise<Map<string, string[]>> {
  const { rows } = await db.query<{ blocker_sub: string; blocked: string[] }>({
    name: 'chat.block.list-each',
    text: 'SELECT blocker_sub, array_agg(blocked_sub ORDER BY blocked_sub) AS blocked FROM blocks WHERE blocker_sub = ANY($1::text[]) GROUP BY blocker_sub',
    values: [blockers],
  });
  return new Map(rows.map((r) => [r.blocker_sub, r.blocked.slice(0, 10_000)]));
}

/** True when either user blocks the other. */
export async function eitherBlocks(db: Queryable, a: string, b: string): Promise<boolean> {
  const { rows } = await db.query<{ n: number }>({
    name: 'chat.block.either',
    text: 'SELECT count(*)::int AS n FROM blocks WHERE (blocker_sub = $1 AND blocked_sub = $2) OR (blocker_sub = $2 AND blocked_sub = $1)',
    values: [a, b],
  });
  return rows[0]!.n > 0;
}
