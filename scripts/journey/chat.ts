/**
 * The journey's chat step: the new customer creates a room through the
 * gateway, connects to the chat's WebSocket through the gateway's upgrade
 * pass-through (the token in the Authorization header, verified by the
 * gateway and again by chat), subscribes from the start, sends a message
 * (acked with its sequence number, delivered back in order) and reads the
 * history through REST.
 */
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { call as send, waitFor } from '@bulwark/test-support';
import type { PlatformUrls, Step } from '../journey.ts';

export async function chatInARoom(urls: PlatformUrls, customer: string, step: (s: Step) => void): Promise<void> {
  const auth = { authorization: `Bearer ${customer}` };
  const fail = (s: Step, why: string) => new Error(`journey step "${s.name}" (${s.method} ${s.path}) answered ${s.status}: ${why} ${JSON.stringify(s.body)}`);
  const created: Step = { name: 'create a chat room', method: 'POST', path: '/v1/chat/rooms', ...(await send(urls.gateway, 'POST', '/v1/chat/rooms', { name: 'Order questions', kind: 'private' }, auth)) };
  step(created);
  const room = (created.body as { room?: { id?: string } }).room?.id;
  if (created.status !== 201 || !room) throw fail(created, 'no room');

  const frames: { type: string; [k: string]: unknown }[] = [];
  const ws = new WebSocket(`${urls.gateway.replace(/^http/, 'ws')}/v1/chat/ws`, { headers: auth });
  ws.on('message', (data) => frames.push(JSON.parse(String(data)) as { type: string }));
  ws.on('error', () => undefined);
  const has = (type: string) => frames.find((f) => f.type === type);
  try {
    await waitFor(() => has('welcome') !== undefined || ws.readyState === ws.CLOSED, 'the chat welcome through the gateway', 15_000, 50);
    step({ name: 'connect to the chat over the WebSocket (through the gateway)', method: 'GET', path: '/v1/chat/ws', status: has('welcome') ? 101 : 0, body: has('welcome') });
    if (!has('welcome')) throw new Error('journey step "connect to the chat" got no welcome frame');
    ws.send(JSON.stringify({ type: 'subscribe', room, since: 0 }));
    ws.send(JSON.stringify({ type: 'send', room, clientId: randomUUID(), body: 'Can I change the delivery address?' }));
    await waitFor(() => has('ack') !== undefined && has('message') !== undefined, 'the ack and the message back', 15_000, 50).catch(() => undefined); // judged below
    const ack = has('ack');
    step({ name: 'send a chat message (acked with its sequence)', method: 'WS', path: '/v1/chat/ws', status: ack?.seq === 1 ? 200 : 0, body: ack ?? frames });
    if (ack?.seq !== 1 || (has('message')?.message as { seq?: number } | undefined)?.seq !== 1) throw new Error(`journey chat: no ack or message with seq 1: ${JSON.stringify(frames)}`);
  } finally {
    ws.close();
  }
  const history: Step = { name: "read the room's history through REST", method: 'GET', path: `/v1/chat/rooms/${room}/messages`, ...(await send(urls.gateway, 'GET', `/v1/chat/rooms/${room}/messages?after=0`, undefined, auth)) };
  step(history);
  const messages = (history.body as { messages?: { seq: number; body: string }[] }).messages ?? [];
  if (history.status !== 200 || messages.length !== 1 || messages[0]!.body !== 'Can I change the delivery address?') throw fail(history, 'the message is not in the history');
}
