/**
 * Messages of a room: post (the room's next sequence number, taken in the
 * message's transaction; a resend with the same clientId answers the first
 * message instead of a duplicate), history pages, edits (sender only),
 * deletes (sender, or a room owner or admin; the message keeps its number),
 * and receipts (delivered/read cursors that only move forward).
 */
import { randomUUID } from 'node:crypto';
import { withTransaction, type DbPool } from '@bulwark/db';
import { chatError } from '../errors.ts';
import {
  advanceReceipt,
  findMessage,
  findMessageByClientId,
  insertMessage,
  listMessages,
  markMessageDeleted,
  nextSeq,
  updateMessageBody,
  type Attachment,
  type Message,
} from '../store/chat-store.ts';
import { assertMember } from './access.ts';
import type { Publisher } from './events.ts';

export interface MessageDeps {
  pool: DbPool;
  publish: Publisher;
}

export interface PostInput {
  clientId: string;
  body: string;
  attachments?: Attachment[];
}

const sameAttachments = (a: Attachment[], b: Attachment[]) => JSON.stringify(a) === JSON.stringify(b);

/** Thrown inside the posting transaction to roll back the number it took: a racing resend of the same clientId committed first. */
class ResendRaced extends Error {
  readonly earlier: Message;
  constructor(earlier: Message) {
    super('a resend of the same clientId committed first');
    this.earlier = earlier;
  }
}

/** Posts a message; `created` is false when the clientId named a message already posted (its first answer again). */
export async function postMessage(deps: MessageDeps, tenant: string, sender: string, roomId: string, input: PostInput): Promise<{ message: Message; created: boolean }> {
  const attachments = input.attachments ?? [];
  const result = await withTransaction(deps.pool, async (tx) => {
    await assertMember(tx, roomId, sender);
    const earlier = await findMessageByClientId(tx, roomId, sender, input.clientId);
    if (earlier) return { message: earlier, created: false };
    // Locks the room row until COMMIT: a second sender waits here, so numbers commit in order and a rollback leaves no hole.
    const seq = (await nextSeq(tx, roomId))!;
    // A resend racing the first send waited on the room lock above: look again now that the first committed,
    // and roll back (a COMMIT here would keep the number taken without a message: a hole every cursor stops at).
    const raced = await findMessageByClientId(tx, roomId, sender, input.clientId);
    if (raced) throw new ResendRaced(raced);
    return { message: await insertMessage(tx, { roomId, seq, id: randomUUID(), senderSub: sender, clientId: input.clientId, body: input.body, attachments }), created: true };
  }).catch((err: unknown) => {
    if (err instanceof ResendRaced) return { message: err.earlier, created: false };
    throw err;
  });
  if (!result.created && (result.message.deletedAt === null && (result.message.body !== input.body || !sameAttachments(result.message.attachments, attachments)))) {
    throw chatError('CHAT_CLIENT_ID_REUSED', `clientId ${input.clientId} names another message (seq ${result.message.seq})`, { seq: result.message.seq });
  }
  if (result.created) await deps.publish.room(tenant, { type: 'message', room: roomId, message: result.message });
  return result;
}

export async function history(deps: MessageDeps, user: string, roomId: string, page: { after?: number; before?: number; limit: number }): Promise<{ messages: Message[]; nextCursor: string | null }> {
  await assertMember(deps.pool, roomId, user);
  const messages = await listMessages(deps.pool, roomId, page);
  const last = messages.at(-1);
  // Forward pages continue after the last one; backward pages before the oldest shown.
  const nextCursor = messages.length < page.limit || !last ? null : page.after !== undefined ? `after:${last.seq}` : `before:${last.seq}`;
  return { messages, nextCursor };
}

export async function editMessage(deps: MessageDeps, tenant: string, user: string, roomId: string, seq: number, body: string): Promise<Message> {
  const message = await withTransaction(deps.pool, async (tx) => {
    await assertMember(tx, roomId, user);
    const current = await findMessage(tx, roomId, seq, true);
    if (!current) throw chatError('CHAT_MESSAGE_NOT_FOUND', `room ${roomId} has no message ${seq}`, { seq });
    if (current.senderSub !== user) throw chatError('CHAT_NOT_YOUR_MESSAGE', 'a message is edited by its sender only', { seq });
    if (current.deletedAt) throw chatError('CHAT_MESSAGE_DELETED', `message ${seq} was deleted`, { seq });
    return updateMessageBody(tx, roomId, seq, body);
  });
  await deps.publish.room(tenant, { type: 'edited', room: roomId, message });
  return message;
}

export async function deleteMessage(deps: MessageDeps, tenant: string, user: string, roomId: string, seq: number): Promise<Message> {
  const message = await withTransaction(deps.pool, async (tx) => {
    const { role } = await assertMember(tx, roomId, user);
    const current = await findMessage(tx, roomId, seq, true);
    if (!current) throw chatError('CHAT_MESSAGE_NOT_FOUND', `room ${roomId} has no message ${seq}`, { seq });
    if (current.senderSub !== user && role === 'member') throw chatError('CHAT_NOT_YOUR_MESSAGE', 'a message is deleted by its sender or a room owner or admin', { seq });
    return markMessageDeleted(tx, roomId, seq);
  });
  await deps.publish.room(tenant, { type: 'deleted', room: roomId, message });
  return message;
}

/** Moves the user's delivered or read cursor to `seq` (read implies delivered) and tells the room. */
export async function acknowledge(deps: MessageDeps, tenant: string, user: string, roomId: string, kind: 'delivered' | 'read', seq: number): Promise<number> {
  const value = await withTransaction(deps.pool, async (tx) => {
    if (kind === 'read') await advanceReceipt(tx, roomId, user, 'delivered', seq);
    return advanceReceipt(tx, roomId, user, kind, seq);
  });
  if (value === undefined) throw chatError('CHAT_NOT_A_MEMBER', `${user} is not a member of room ${roomId}`, { room: roomId });
  await deps.publish.room(tenant, { type: 'receipt', room: roomId, user, kind, seq: value });
  return value;
}
