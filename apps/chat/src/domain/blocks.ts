/**
 * Blocking: a user's blocked list; a blocked user's messages are not
 * delivered to the blocker's connections (every instance learns the new list
 * through the user's channel) and no direct room opens between them.
 */
import type { DbPool } from '@bulwark/db';
import { chatError } from '../errors.ts';
import { blockedBy, deleteBlock, insertBlock } from '../store/chat-store.ts';
import type { Publisher } from './events.ts';

export async function setBlocked(deps: { pool: DbPool; publish: Publisher }, tenant: string, user: string, other: string, blocked: boolean): Promise<string[]> {
  if (user === other) throw chatError('CHAT_SELF_DIRECT', 'a user cannot block themselves');
  if (blocked) await insertBlock(deps.pool, user, other);
  else await deleteBlock(deps.pool, user, other);
  const list = await blockedBy(deps.pool, user);
  await deps.publish.user(tenant, user, { type: 'blocks', blocked: list });
  return list;
}

export const blockedList = (pool: DbPool, user: string): Promise<string[]> => blockedBy(pool, user);
