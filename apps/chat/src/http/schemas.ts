/** Request and response schemas of the chat's REST routes (validation and /openapi.json). */
import { z } from 'zod';
import { AttachmentRef } from '../realtime/protocol.ts';

const sub = z.string().min(1).max(256).regex(/^[\x21-\x7e]+$/, 'visible ASCII').describe("A user's id (identity's `sub`).");

export const RoomParams = z.object({ id: z.uuid() });
export const MemberParams = z.object({ id: z.uuid(), sub });
export const MessageParams = z.object({ id: z.uuid(), seq: z.coerce.number().int().positive() });
export const UserParams = z.object({ sub });

export const CreateRoomBody = z.object({
  name: z.string().trim().min(1).max(200),
  kind: z.enum(['public', 'private']).default('public').describe('public: any user of the tenant sees and joins it; private: members only, added by an owner or admin.'),
  members: z.array(sub).max(1_000).optional().describe('Users added as members at creation (the creator is its owner).'),
});
export const MemberBody = z.object({ role: z.enum(['owner', 'admin', 'member']).default('member') });
export const PostBody = z.object({
  clientId: z.string().min(1).max(64).describe("The sender's id of this message: a retry with the same clientId answers the first message (no duplicate)."),
  body: z.string().max(16_000),
  attachments: z.array(AttachmentRef).max(10).optional().describe('References to files uploaded to the files service (the chat keeps the references, not the bytes).'),
});
export const EditBody = z.object({ body: z.string().max(16_000) });
export const ReceiptBody = z.object({ kind: z.enum(['delivered', 'read']), seq: z.number().int().nonnegative() });

export const HistoryQuery = z
  .object({
    cursor: z.string().regex(/^(after|before):\d+$/).optional().describe('nextCursor of the previous page.'),
    after: z.coerce.number().int().nonnegative().optional().describe('Messages after this sequence, oldest first (resume).'),
    before: z.coerce.number().int().positive().optional().describe('Messages before this sequence, newest first (scrolling back). Neither: the newest messages, newest first.'),
    limit: z.coerce.number().int().min(1).max(200).default(50),
  })
  .refine((q) => [q.cursor, q.after, q.before].filter((v) => v !== undefined).length <= 1, { message: 'give at most one of cursor, after, before' });

const Room = z.object({
  id: z.string(),
  kind: z.enum(['public', 'private', 'direct']),
  name: z.string(),
  createdBy: z.string(),
  lastSeq: z.number().int().describe('Sequence number of the newest message (0: none).'),
  createdAt: z.string(),
});
const Member = z.object({ userSub: z.string(), role: z.enum(['owner', 'admin', 'member']), deliveredSeq: z.number().int(), readSeq: z.number().int(), joinedAt: z.string() });
const Message = z.object({
  roomId: z.string(),
  seq: z.number().int().describe("The message's place in the room: gap-free, assigned by PostgreSQL at commit order."),
  id: z.string(),
  senderSub: z.string(),
  clientId: z.string(),
  body: z.string().describe('Empty once deleted.'),
  attachments: z.array(AttachmentRef),
  createdAt: z.string(),
  editedAt: z.string().nullable(),
  deletedAt: z.string().nullable(),
});

export const RoomResponse = z.object({ room: Room, role: z.enum(['owner', 'admin', 'member']).nullable().optional() });
export const RoomListResponse = z.object({ rooms: z.array(Room.extend({ role: z.enum(['owner', 'admin', 'member']).nullable() })) });
export const MemberResponse = z.object({ member: Member });
export const MemberListResponse = z.object({ members: z.array(Member.extend({ presence: z.enum(['online', 'away', 'offline']) })) });
export const MessageResponse = z.object({ message: Message, duplicate: z.boolean().optional() });
export const HistoryResponse = z.object({ messages: z.array(Message), nextCursor: z.string().nullable() });
export const ReceiptResponse = z.object({ kind: z.enum(['delivered', 'read']), seq: z.number().int() });
export const BlockListResponse = z.object({ blocked: z.array(z.string()) });
