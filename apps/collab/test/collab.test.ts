/**
 * Collaborative documents across two real instances (child processes) over
 * PostgreSQL and Redis: concurrent editing converges, offline edits merge,
 * refusals close with the documented codes, and an instance SIGKILLed
 * mid-edit loses nothing acknowledged.
 *
 * Acknowledged: an update is acknowledged once it is in the log; the server
 * relays nothing (to a local client, a sync reply or another instance)
 * before that, so everything any other client has received is stored.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Validator } from '@seriousme/openapi-schema-validator';
import * as Y from 'yjs';
import { PROBLEM, scrapeValue, waitFor, type Service } from '@bulwark/test-support';
import { call, closeOf, connectEditor, createDocument, EDITOR, setupCollab, synced, type Editor, type TestCollab } from './support.ts';

let t: TestCollab;
let a: Service;
let b: Service;
const editors: Editor[] = [];

beforeAll(async () => {
  t = await setupCollab();
  a = await t.spawn({ COMPACT_AFTER_UPDATES: '25' });
  b = await t.spawn({ COMPACT_AFTER_UPDATES: '25' }); // after a: the schema is migrated once
}, 120_000);
afterAll(async () => {
  for (const e of editors) e.destroy();
  await t.cleanup();
});

function open(instance: Service, documentId: string, token: string): Editor {
  const e = connectEditor(instance, documentId, token);
  editors.push(e);
  return e;
}

/** A small deterministic generator (mulberry32): the same run every time. */
function random(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let x = Math.imul(s ^ (s >>> 15), 1 | s);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

function randomEdit(text: Y.Text, rnd: () => number, who: number): void {
  const len = text.length;
  const pick = rnd();
  if (pick < 0.55 || len < 4) text.insert(Math.floor(rnd() * (len + 1)), `${String.fromCharCode(97 + who)}${Math.floor(rnd() * 10)}`);
  else if (pick < 0.8) {
    const at = Math.floor(rnd() * (len - 1));
    text.delete(at, Math.min(1 + Math.floor(rnd() * 3), len - at));
  } else {
    const at = Math.floor(rnd() * (len - 1));
    text.format(at, Math.min(1 + Math.floor(rnd() * 5), len - at), rnd() < 0.5 ? { bold: true } : { italic: rnd() < 0.5 ? true : null });
  }
}

const stateVector = (e: Editor) => Buffer.from(Y.encodeStateVector(e.doc)).toString('base64');

describe('collaborative documents on two instances', () => {
  it('when six clients on two instances insert, delete and format concurrently, then every client and both instances end with identical state vectors and content', async () => {
    const id = await createDocument(a, { title: 'concurrent', text: 'start ' });
    const token = await t.token();
    const clients = [0, 1, 2, 3, 4, 5].map((i) => open(i % 2 === 0 ? a : b, id, token));
    await synced(...clients);
    const rnd = random(30);
    for (let round = 0; round < 40; round++) {
      clients.forEach((c, who) => randomEdit(c.text, rnd, who));
      await new Promise((r) => setImmediate(r)); // let the sockets carry this round while the next one is typed
    }
    await waitFor(() => new Set(clients.map(stateVector)).size === 1 && new Set(clients.map((c) => JSON.stringify(c.text.toDelta()))).size === 1, 'all clients converged');
    const expected = clients[0]!;
    expect(expected.text.toString().length).toBeGreaterThan(0);
    for (const instance of [a, b]) {
      const read = await call(instance.url, 'GET', `/v1/documents/${id}`, undefined, EDITOR);
      expect(read.status).toBe(200);
      expect(read.body.stateVector).toBe(stateVector(expected));
      expect(read.body.text).toBe(expected.text.toString());
      expect(read.body.delta).toEqual(expected.text.toDelta());
    }
    // 240 edits with compaction every 25 logged updates: snapshots replaced log entries while clients kept editing.
    expect((await scrapeValue(a.url, 'collab_compactions_total', 'result="ok"')) + (await scrapeValue(b.url, 'collab_compactions_total', 'result="ok"'))).toBeGreaterThan(0);
  }, 60_000);

  it('when a client edits while disconnected, then its edits and the others\' merge once it is back, on every client and in the store', async () => {
    const id = await createDocument(a, { title: 'offline', text: 'shared' });
    const token = await t.token();
    const online = open(a, id, token);
    const travelling = open(b, id, token);
    await synced(online, travelling);
    travelling.provider.disconnect();
    travelling.text.insert(0, 'offline-');
    travelling.text.format(0, 7, { bold: true });
    online.text.insert(online.text.length, '-online');
    await waitFor(async () => (await call(a.url, 'GET', `/v1/documents/${id}`, undefined, EDITOR)).body.text === 'shared-online', 'the online edit stored');
    expect(travelling.text.toString()).toBe('offline-shared');
    travelling.provider.connect();
    await waitFor(() => online.text.toString() === 'offline-shared-online' && travelling.text.toString() === 'offline-shared-online', 'the offline edits merged');
    await waitFor(() => stateVector(online) === stateVector(travelling), 'same state vectors');
    const read = await call(b.url, 'GET', `/v1/documents/${id}`, undefined, EDITOR);
    expect(read.body).toMatchObject({ text: 'offline-shared-online', stateVector: stateVector(online) });
    expect(read.body.delta[0]).toEqual({ insert: 'offline', attributes: { bold: true } });
  }, 60_000);

  it('when the awareness of a client changes, then clients on the other instance see it, and it is gone when the client leaves', async () => {
    const id = await createDocument(a, { title: 'presence' });
    const token = await t.token();
    const here = open(a, id, token);
    const there = open(b, id, token);
    await synced(here, there);
    here.provider.awareness.setLocalStateField('user', { name: 'ada', cursor: 3 });
    await waitFor(() => (there.provider.awareness.getStates().get(here.doc.clientID) as { user?: { name: string } } | undefined)?.user?.name === 'ada', 'presence across instances');
    here.provider.disconnect();
    await waitFor(() => !there.provider.awareness.getStates().has(here.doc.clientID), 'presence removed when the client left');
  }, 30_000);

  it('refusals close with the documented codes: no token, forged, expired, another tenant, a role that may not read; a reader\'s edits are dropped', async () => {
    const id = await createDocument(a, { title: 'private', text: 'secret', readRoles: ['viewer'], writeRoles: ['editor'] });
    const url = `ws://127.0.0.1:${a.port}/v1/collab/${id}`;
    expect((await closeOf(url)).code).toBe(4401);
    const forged = (await t.token()).replace(/\.[^.]+$/, '.AAAA');
    expect((await closeOf(url, { authorization: `Bearer ${forged}` })).code).toBe(4401);
    expect((await closeOf(`${url}?token=${await t.token({ expiresIn: -60 })}`)).code).toBe(4401);
    expect((await closeOf(url, { authorization: `Bearer ${await t.token({ tenant: 'tenant-b' })}` })).code).toBe(4404);
    expect((await closeOf(url, { authorization: `Bearer ${await t.token({ roles: ['orders'] })}` })).code).toBe(4403);
    expect((await closeOf(`ws://127.0.0.1:${a.port}/v1/collab/00000000-0000-4000-8000-000000000000`, { authorization: `Bearer ${await t.token()}` })).code).toBe(4404);

    const reader = open(b, id, await t.token({ sub: 'viewer-1', roles: ['viewer'] }));
    const writer = open(a, id, await t.token());
    await synced(reader, writer);
    expect(reader.text.toString()).toBe('secret');
    reader.text.insert(0, 'not mine ');
    writer.text.insert(6, '!');
    await waitFor(async () => (await call(a.url, 'GET', `/v1/documents/${id}`, undefined, EDITOR)).body.text === 'secret!', "the writer's edit stored");
    await waitFor(() => writer.text.toString() === 'secret!', 'the writer does not see the reader edit');
    expect((await call(a.url, 'GET', `/v1/documents/${id}`, undefined, { 'x-auth-sub': 'o', 'x-auth-roles': 'orders' })).status).toBe(403);
  }, 30_000);

  it('when a token expires on an open connection, then the connection is closed 4401', async () => {
    const id = await createDocument(a, { title: 'expiring' });
    const token = await t.token({ expiresIn: '2s' });
    const closed = await closeOf(`ws://127.0.0.1:${a.port}/v1/collab/${id}?token=${token}`);
    expect(closed).toEqual({ code: 4401, reason: 'token expired' });
  }, 30_000);

  it('REST: bad input is 400 problem+json, an unknown document 404, access is managed by the creator, the list pages with a cursor, and /openapi.json is valid OpenAPI 3.1 with every route', async () => {
    const bad = await call(a.url, 'POST', '/v1/documents', { title: '' }, EDITOR);
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toContain(PROBLEM);
    expect((await call(a.url, 'GET', '/v1/documents/not-a-uuid', undefined, EDITOR)).status).toBe(400);
    expect((await call(a.url, 'GET', '/v1/documents?cursor=bm9wZQ', undefined, EDITOR)).body.code).toBe('COLLAB_CURSOR_INVALID');
    const missing = await call(a.url, 'GET', '/v1/documents/00000000-0000-4000-8000-000000000000', undefined, EDITOR);
    expect([missing.status, missing.body.code]).toEqual([404, 'COLLAB_DOCUMENT_NOT_FOUND']);
    expect((await call(a.url, 'POST', '/v1/documents', { title: 'x' }, {})).body.code).toBe('COLLAB_LOGIN_REQUIRED');

    await createDocument(a, { title: 'older' });
    const id = await createDocument(a, { title: 'managed' });
    expect((await call(a.url, 'PUT', `/v1/documents/${id}/access`, { readRoles: [], writeRoles: ['editor'] }, { 'x-auth-sub': 'someone-else', 'x-auth-roles': 'editor' })).status).toBe(403);
    const changed = await call(a.url, 'PUT', `/v1/documents/${id}/access`, { readRoles: ['viewer'], writeRoles: ['editor'] }, EDITOR);
    expect(changed.body).toMatchObject({ readRoles: ['viewer'], writeRoles: ['editor'], canWrite: true });
    const first = await call(a.url, 'GET', '/v1/documents?limit=1', undefined, EDITOR);
    expect(first.body.documents).toHaveLength(1);
    const second = await call(a.url, 'GET', `/v1/documents?limit=1&cursor=${first.body.nextCursor as string}`, undefined, EDITOR);
    expect(second.body.documents[0].id).not.toBe(first.body.documents[0].id);
    const { documents: visible } = (await call(a.url, 'GET', '/v1/documents?limit=100', undefined, { 'x-auth-sub': 'o', 'x-auth-roles': 'orders' })).body as { documents: { id: string }[] };
    expect(visible.map((d) => d.id)).not.toContain(id);
    expect((await call(a.url, 'GET', '/v1/documents', undefined, { ...EDITOR, 'x-auth-tenant': 'tenant-b' })).body.documents).toEqual([]);

    const doc = (await (await fetch(`${a.url}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    const result = await new Validator().validate(doc as never);
    expect(result.errors ?? []).toEqual([]);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/documents', '/v1/documents/{id}', '/v1/documents/{id}/access']));
  }, 30_000);

  it('when an instance is stopped (SIGTERM), then it drains cleanly (exit 0) and its sockets are closed 1012 (clients reconnect elsewhere)', async () => {
    const draining = await t.spawn();
    const id = await createDocument(draining, { title: 'drain' });
    const e = open(draining, id, await t.token());
    await synced(e);
    const codes: number[] = [];
    e.provider.on('connection-close', (event) => {
      if (event) codes.push(event.code);
    });
    e.text.insert(0, 'before the drain');
    await waitFor(async () => (await call(b.url, 'GET', `/v1/documents/${id}`, undefined, EDITOR)).body.text === 'before the drain', 'the edit stored');
    await draining.stop();
    expect(await draining.exited).toBe(0); // drained within the grace period, not killed
    await waitFor(() => codes.includes(1012), 'the socket closed 1012 (service restart)');
    e.provider.disconnect();
  }, 60_000);

  it('when an instance is SIGKILLed mid-edit, then everything another client had received is stored, and the document keeps working on the survivor', async () => {
    const victim = await t.spawn();
    const id = await createDocument(victim, { title: 'crash' });
    const token = await t.token();
    const typist = open(victim, id, token);
    const watcher = open(b, id, token);
    await synced(typist, watcher);
    let typed = 0;
    let typing = true;
    const keepTyping = (async () => {
      while (typing) {
        typist.text.insert(typist.text.length, `${typed++ % 10}`);
        await new Promise((r) => setImmediate(r));
      }
    })();
    await waitFor(() => watcher.text.length >= 100, 'the watcher receiving the typing');
    await victim.kill('SIGKILL');
    typing = false;
    await keepTyping;
    typist.destroy(); // its edits the server never relayed are not acknowledged: they must not come back through a reconnect
    const acknowledged = Y.encodeStateAsUpdate(watcher.doc);
    const seen = watcher.text.toString();
    expect(typed).toBeGreaterThan(seen.length);

    const read = await call(b.url, 'GET', `/v1/documents/${id}?include=state`, undefined, EDITOR);
    expect(read.status).toBe(200);
    const stored = new Y.Doc();
    Y.applyUpdate(stored, Buffer.from(read.body.state as string, 'base64'));
    const before = { sv: Buffer.from(Y.encodeStateVector(stored)).toString('base64'), text: stored.getText('content').toString() };
    expect(before.text.startsWith(seen)).toBe(true);
    Y.applyUpdate(stored, acknowledged); // the watcher holds nothing the store lacks
    expect({ sv: Buffer.from(Y.encodeStateVector(stored)).toString('base64'), text: stored.getText('content').toString() }).toEqual(before);

    const after = open(b, id, token);
    await synced(after);
    await waitFor(() => after.text.toString() === before.text, 'a new client on the survivor reads the stored document');
    await waitFor(() => watcher.text.toString() === before.text, 'the watcher catches up with what the victim stored but never relayed (resync)');
    after.text.insert(0, '>');
    await waitFor(() => watcher.text.toString() === `>${before.text}`, 'editing continues on the survivor');
  }, 90_000);
});
