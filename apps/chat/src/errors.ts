/**
 * Error codes of the chat service, registered once at import. Each code
 * means one thing forever; the service kit maps them to problem+json, and the
 * WebSocket protocol sends the same codes in its `error` frames.
 */
import { AppError, registerErrorCodes, type ErrorCodeInfo } from '@bulwark/errors';

export const CHAT_ERROR_CODES = [
  { code: 'CHAT_LOGIN_REQUIRED', status: 401, title: 'Login required', description: 'Chat routes need a verified user (x-auth-sub, set by the gateway from an access token).' },
  { code: 'CHAT_ROOM_NOT_FOUND', status: 404, title: 'Room not found', description: 'No room with this id that the caller may see: public rooms of the tenant and rooms the caller is a member of.' },
  { code: 'CHAT_NOT_A_MEMBER', status: 403, title: 'Not a member', description: 'Only members of a room read its history, post, and receive its messages; join a public room first (POST /v1/rooms/:id/join).' },
  { code: 'CHAT_ROLE_REQUIRED', status: 403, title: 'Room role required', description: 'Managing members needs the room role `owner` or `admin` (`role` names the one needed).' },
  { code: 'CHAT_PRIVATE_ROOM', status: 403, title: 'Private room', description: 'A private room is joined only when an owner or admin adds the user.' },
  { code: 'CHAT_MESSAGE_NOT_FOUND', status: 404, title: 'Message not found', description: 'No message with this sequence number in the room.' },
  { code: 'CHAT_NOT_YOUR_MESSAGE', status: 403, title: 'Not your message', description: 'A message is edited by its sender only, and deleted by its sender or a room owner or admin.' },
  { code: 'CHAT_MESSAGE_DELETED', status: 409, title: 'Message deleted', description: 'A deleted message takes no edits.' },
  { code: 'CHAT_BLOCKED', status: 403, title: 'Blocked', description: 'One of the two users blocks the other: no direct room between them, and their messages are not delivered to the one who blocks.' },
  { code: 'CHAT_SELF_DIRECT', status: 422, title: 'Direct room with oneself', description: 'A direct room is between two different users.' },
  { code: 'CHAT_LAST_OWNER', status: 409, title: 'Last owner', description: 'A room keeps at least one owner: give the role to another member first.' },
  { code: 'CHAT_CLIENT_ID_REUSED', status: 409, title: 'Client id reused', description: 'The clientId was used by the caller in this room for a message with another body; a retry must send the same body.' },
  { code: 'CHAT_RATE_LIMITED', status: 429, title: 'Too many frames', description: 'The connection sent frames faster than WS_RATE_LIMIT per second (WebSocket error frame; the frame was not processed).' },
  { code: 'CHAT_BAD_FRAME', status: 400, title: 'Bad frame', description: 'A WebSocket frame that is not JSON or not one of the protocol\'s client frames (apps/chat/README.md); `issues` lists what is wrong.' },
] as const satisfies readonly ErrorCodeInfo[];

registerErrorCodes(CHAT_ERROR_CODES);

export type ChatErrorCode = (typeof CHAT_ERROR_CODES)[number]['code'];

export function chatError(code: ChatErrorCode, detail: string, extensions?: Record<string, unknown>): AppError {
  return new AppError(code, detail, { status: CHAT_ERROR_CODES.find((c) => c.code === code)!.status, ...(extensions ? { extensions } : {}) });
}
