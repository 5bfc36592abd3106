/**
 * What a change in a room tells the other instances and the room's
 * connections (the `event` frames of the WebSocket protocol), and the port
 * the use cases publish through (realtime/room-bus.ts over Redis pub/sub).
 */
import type { Message, RoomRole } from '../store/chat-store.ts';

export type RoomEvent =
  | { type: 'message'; room: string; message: Message }
  | { type: 'edited'; room: string; message: Message }
  | { type: 'deleted'; room: string; message: Message }
  | { type: 'typing'; room: string; user: string }
  | { type: 'receipt'; room: string; user: string; kind: 'delivered' | 'read'; seq: number }
  | { type: 'member'; room: string; user: string; role: RoomRole | null }
  | { type: 'presence'; room: string; user: string; status: PresenceStatus };

export type PresenceStatus = 'online' | 'away' | 'offline';

/** Events about one user, to every connection of that user (blocks changed). */
export type UserEvent = { type: 'blocks'; blocked: string[] };

export interface Publisher {
  /** Publishes after the change committed; a lost publish is repaired by sequence gaps and resume (never throws). */
  room(tenant: string, event: RoomEvent): Promise<void>;
  user(tenant: string, user: string, event: UserEvent): Promise<void>;
}
