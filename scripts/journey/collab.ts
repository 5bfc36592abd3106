/**
 * The journey's collaborative document step: the new customer creates a
 * document through the gateway, opens it over the gateway's WebSocket
 * pass-through with y-websocket's own client (the token in the upgrade's
 * Authorization header, verified by the gateway and again by collab), types,
 * and reads the text back through REST once it is stored.
 */
import WebSocket from 'ws';
import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import { call as send, waitFor } from '@bulwark/test-support';
import type { PlatformUrls, Step } from '../journey.ts';

export async function editDocument(urls: PlatformUrls, customer: string, step: (s: Step) => void): Promise<void> {
  const auth = { authorization: `Bearer ${customer}` };
  const fail = (s: Step, why: string) => new Error(`journey step "${s.name}" (${s.method} ${s.path}) answered ${s.status}: ${why} ${JSON.stringify(s.body)}`);
  const created: Step = { name: 'create a shared document', method: 'POST', path: '/v1/documents', ...(await send(urls.gateway, 'POST', '/v1/documents', { title: 'Delivery notes', text: 'Leave at ' }, auth)) };
  step(created);
  const id = (created.body as { id?: string }).id;
  if (created.status !== 201 || !id) throw fail(created, 'no document');

  const doc = new Y.Doc();
  const WithToken = class extends WebSocket {
    constructor(address: string | URL, protocols?: string | string[]) {
      super(address, protocols, { headers: auth });
    }
  };
  const provider = new WebsocketProvider(`${urls.gateway.replace(/^http/, 'ws')}/v1/collab`, id, doc, { WebSocketPolyfill: WithToken as unknown as typeof globalThis.WebSocket, disableBc: true });
  try {
    await waitFor(() => provider.synced, 'the document synced over the gateway', 15_000, 50);
    step({ name: 'open the document over the WebSocket (through the gateway)', method: 'GET', path: `/v1/collab/${id}`, status: 101, body: { text: doc.getText('content').toString() } });
    const text = doc.getText('content');
    text.insert(text.length, 'the back door');
    text.format(0, 5, { bold: true });
    // Stored means acknowledged: the REST read answers from the log, whichever instance took the edit.
    // Both edits (the insert and the bold) before the socket closes: one closed right after the insert may not have sent the format yet.
    const stored = async () => {
      const body = (await send(urls.gateway, 'GET', `/v1/documents/${id}`, undefined, auth)).body as { text?: string; delta?: { attributes?: Record<string, unknown> }[] };
      return body.text === 'Leave at the back door' && body.delta?.[0]?.attributes?.bold === true;
    };
    await waitFor(stored, 'the typed text and its format stored', 15_000, 100).catch(() => undefined); // judged below
  } finally {
    provider.destroy();
    doc.destroy();
  }
  const read: Step = { name: 'read the document back through REST', method: 'GET', path: `/v1/documents/${id}`, ...(await send(urls.gateway, 'GET', `/v1/documents/${id}`, undefined, auth)) };
  step(read);
  const body = read.body as { text?: string; delta?: { insert: unknown; attributes?: Record<string, unknown> }[] };
  if (read.status !== 200 || body.text !== 'Leave at the back door' || body.delta?.[0]?.attributes?.bold !== true) throw fail(read, 'the typed text is not stored');
}
