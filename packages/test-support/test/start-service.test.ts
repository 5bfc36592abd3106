import { describe, expect, it } from '@jest/globals';
import { fileURLToPath } from 'node:url';
import { call, freePort, startService, waitFor } from '@bulwark/test-support';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

describe('startService', () => {
  it('when the child becomes ready, then it resolves with its URL on the given port, the env defaults and overrides, and stop() ends it with exit 0', async () => {
    const port = await freePort();
    const svc = await startService({ name: 'fixture', main: fixture('ready-server.ts'), port, env: { READY_AFTER_MS: '300', EXTRA: 'x', PORT: '1' } });
    try {
      expect(svc.url).toBe(`http://127.0.0.1:${port}`);
      expect((await call(svc.url, 'GET', '/env')).body).toMatchObject({ HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'warn', EXTRA: 'x' });
      expect(svc.output()).toContain('listening');
    } finally {
      await svc.stop();
    }
    expect(await svc.exited).toBe(0);
  });

  it('when the child exits before it is ready, then it rejects with the exit code and the tail of its output', async () => {
    await expect(startService({ name: 'crashy', main: fixture('crash.ts') })).rejects.toThrow(/crashy exited \(3\) before it was ready[\s\S]*DATABASE_URL is required \(fixture crash\)/);
  });

  it('when the child ignores SIGTERM, then stop() kills it after the grace period', async () => {
    const svc = await startService({ main: fixture('ready-server.ts'), env: { IGNORE_SIGTERM: '1' }, stopGraceMs: 200 });
    await svc.stop();
    expect(await svc.exited).toBeNull();
    expect(svc.child.signalCode).toBe('SIGKILL');
  });

  it('when cwd is given, then a relative main resolves against it', async () => {
    const svc = await startService({ main: 'fixtures/ready-server.ts', cwd: fileURLToPath(new URL('.', import.meta.url)) });
    try {
      expect((await call(svc.url, 'GET', '/env')).body.cwd).toBe(fileURLToPath(new URL('.', import.meta.url)).replace(/\/$/, ''));
    } finally {
      await svc.kill('SIGKILL');
    }
  });
});

describe('call and waitFor', () => {
  it('when the body is an object, then it is sent as JSON, and a string as it is', async () => {
    const svc = await startService({ main: fixture('ready-server.ts') });
    try {
      expect((await call(svc.url, 'POST', '/echo', { a: 1 })).body).toEqual({ contentType: 'application/json', body: '{"a":1}' });
      expect((await call(svc.url, 'POST', '/echo', '{not json')).body).toEqual({ contentType: 'application/json', body: '{not json' });
      expect((await call(svc.url, 'GET', '/missing')).body).toBeUndefined();
    } finally {
      await svc.kill('SIGKILL');
    }
  });

  it('when the predicate holds, then waitFor returns, and when it never holds, then it fails naming what it waited for', async () => {
    let polls = 0;
    await waitFor(() => ++polls >= 3, 'three polls', 30_000, 1);
    expect(polls).toBe(3);
    await expect(waitFor(() => false, 'the impossible', 50, 10)).rejects.toThrow('gave up waiting for: the impossible');
  });
});
