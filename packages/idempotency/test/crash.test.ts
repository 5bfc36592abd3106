import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { startWidgetApp } from './fixtures/widget-app.ts';
import { send, setupDb, waitFor, type TestDb } from './support.ts';

let db: TestDb;
beforeEach(async () => {
  db = await setupDb();
});
afterEach(async () => {
  await db.cleanup();
});

interface Child {
  process: ChildProcess;
  url: Promise<string>;
  executing: Promise<void>;
  exited: Promise<NodeJS.Signals | null>;
}

function startChild(): Child {
  const script = fileURLToPath(new URL('./fixtures/crash-server.ts', import.meta.url));
  const child = spawn(process.execPath, ['--conditions=bulwark-source', '--no-warnings', script], {
    env: { ...process.env, CRASH_SCHEMA: db.schema, CRASH_SCOPE: db.scope },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  let onUrl!: (url: string) => void;
  let onExecuting!: () => void;
  const url = new Promise<string>((r) => (onUrl = r));
  const executing = new Promise<void>((r) => (onExecuting = r));
  child.stdout!.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    const m = /listening (\S+)/.exec(out);
    if (m) onUrl(m[1]!);
    if (out.includes('executing')) onExecuting();
  });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
  db.defer(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  return { process: child, url, executing, exited };
}

describe('crash while a key is started', () => {
  it('when the process is SIGKILLed mid-request, then the key is left started, the write is gone, and a retry recovers and completes once', async () => {
    const child = startChild();
    const url = await child.url;
    const k = randomUUID();
    const inFlight = send(url, 'POST', '/widgets', { name: 'crash' }, { 'idempotency-key': k }).catch((err: unknown) => err);
    await child.executing;

    // While the owner lives, a duplicate is refused: the lock is held.
    const app = await startWidgetApp(db.pool, db.schema, { scope: db.scope });
    db.defer(() => app.close());
    expect((await send(app.url, 'POST', '/widgets', { name: 'crash' }, { 'idempotency-key': k })).status).toBe(409);
    expect(await db.keyRow(k)).toMatchObject({ state: 'started', attempts: 1 });

    child.process.kill('SIGKILL');
    expect(await child.exited).toBe('SIGKILL');
    expect(await inFlight).toHaveProperty('message', 'fetch failed'); // the connection died with the process

    // PostgreSQL ends the dead owner's session (rollback + lock release) once it sees the socket close.
    let retry = await send(app.url, 'POST', '/widgets', { name: 'crash' }, { 'idempotency-key': k });
    await waitFor(async () => {
      if (retry.status !== 409) return true;
      retry = await send(app.url, 'POST', '/widgets', { name: 'crash' }, { 'idempotency-key': k });
      return retry.status !== 409;
    }, 'the dead owner\'s lock is released');
    expect(retry.status).toBe(201);
    expect(retry.body).toMatchObject({ name: 'crash', recovered: true, attempt: 2 });
    expect(await db.widgets()).toEqual([{ name: 'crash', attempt: 2 }]);
    expect(await db.keyRow(k)).toMatchObject({ state: 'completed', attempts: 2, response_status: 201 });

    const replay = await send(app.url, 'POST', '/widgets', { name: 'crash' }, { 'idempotency-key': k });
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.text).toBe(retry.text);
    expect(await db.widgets()).toHaveLength(1);
  });
});
