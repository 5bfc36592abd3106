/**
 * The WebSocket protocol (documented in apps/chat/README.md): the frames a
 * client sends, validated with zod, and the close codes the server ends a
 * connection with. Server frames are the room events (domain/events.ts)
 * plus the replies below.
 */
import { z } from 'zod';

/** Close codes: 1001 drain, 1009 frame too big (ws), the rest ours. Never reused for another meaning. */
export const CLOSE = {
  /** No token in the upgrade (Authorization: Bearer … or ?access_token=). */
  TOKEN_MISSING: 4001,
  /** Malformed, forged (unknown key, bad signature), wrong issuer/audience. */
  TOKEN_INVALID: 4002,
  /** The token expired: at upgrade, or on a long-lived connection that did not send a fresh one (`auth` frame) in time. */
  TOKEN_EXPIRED: 4003,
  /** The token's tenant is not the one the connection names (?tenant=, the gateway's x-auth-tenant), or it has none. */
  TENANT_MISMATCH: 4004,
  /** identity says the token's session was revoked or ended (logout, refresh reuse, password reset). */
  SESSION_REVOKED: 4005,
  /** The key set could not be fetched: retry later. */
  AUTH_UNAVAILABLE: 4006,
  /** A fresh token (`auth` frame) of another user or tenant. */
  AUTH_CHANGED: 4007,
  /** Over the frame rate limit for WS_RATE_LIMIT_STRIKES frames in a row. */
  RATE_LIMITED: 4008,
  /** The server's send buffer to this client passed WS_MAX_BUFFERED_BYTES. */
  SLOW_CONSUMER: 4009,
} as const;

const roomId = z.uuid();
const ref = z.string().min(1).max(64).optional().describe('Echoed in the ok/error reply to this frame.');

export const AttachmentRef = z.object({
  fileId: z.string().min(1).max(128).describe("The files service's id of the uploaded file."),
  name: z.string().min(1).max(255),
  contentType: z.string().min(1).max(255),
  size: z.number().int().nonnegative(),
});

export const ClientFrame = z.discriminatedUnion('type', [
  z.object({ type: z.literal('subscribe'), ref, room: roomId, since: z.number().int().nonnegative().optional().describe('Last sequence seen: every message after it is sent first, then live ones. Unset: live ones only.') }),
  z.object({ type: z.literal('unsubscribe'), ref, room: roomId }),
  z.object({ type: z.literal('send'), ref, room: roomId, clientId: z.string().min(1).max(64), body: z.string().max(16_000), attachments: z.array(AttachmentRef).max(10).optional() }),
  z.object({ type: z.literal('edit'), ref, room: roomId, seq: z.number().int().positive(), body: z.string().max(16_000) }),
  z.object({ type: z.literal('delete'), ref, room: roomId, seq: z.number().int().positive() }),
  z.object({ type: z.literal('typing'), room: roomId }),
  z.object({ type: z.literal('receipt'), ref, room: roomId, kind: z.enum(['delivered', 'read']), seq: z.number().int().nonnegative() }),
  z.object({ type: z.literal('presence'), ref, status: z.enum(['online', 'away']) }),
  z.object({ type: z.literal('auth'), ref, token: z.string().min(1).max(8_192) }),
  z.object({ type: z.literal('ping'), ref }),
]);

export type ClientFrame = z.output<typeof ClientFrame>;
