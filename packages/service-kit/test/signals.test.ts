import { describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const fixture = fileURLToPath(new URL('./fixtures/slow-service.ts', import.meta.url));

function startFixture(): { child: ChildProcessWithoutNullStreams; nextLine(predicate: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> } {
  const child = spawn(`${root}scripts/run`, ['node', '--conditions=bulwark-source', '--import', '@bulwark/service-kit/register', fixture], {
    cwd: root,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', OTEL_EXPORTER_OTLP_ENDPOINT: '' },
  });
  const waiters: { predicate: (line: Record<string, unknown>) => boolean; resolve: (line: Record<string, unknown>) => void }[] = [];
  const seen: Record<string, unknown>[] = [];
  createInterface({ input: child.stdout }).on('line', (text) => {
    let line: Record<string, unknown>;
    try {
      line = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return;
    }
    seen.push(line);
    for (const w of [...waiters]) if (w.predicate(line)) w.resolve(line);
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.on('exit', () => {
    if (stderr) process.stderr.write(`fixture stderr:\n${stderr}\n`);
  });
  return {
    child,
    nextLine: (predicate) =>
      new Promise((resolve) => {
        const found = seen.find(predicate);
        if (found) resolve(found);
        else waiters.push({ predicate, resolve });
      }),
  };
}

describe('runService in a real process', () => {
  it('when SIGTERM arrives with a request in flight, then the request is answered and the process exits 0', async () => {
    const { child, nextLine } = startFixture();
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const listening = await nextLine((l) => l.msg === 'listening');
    const url = listening.url as string;

    const inFlight = fetch(`${url}/slow`);
    await nextLine((l) => l.msg === 'slow request entered');
    child.kill('SIGTERM');

    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ answered: true });
    expect(await exited).toBe(0);
    await nextLine((l) => l.msg === 'stopped');
  });

  it('when a second signal arrives during shutdown, then the process exits 1', async () => {
    const { child, nextLine } = startFixture();
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const listening = await nextLine((l) => l.msg === 'listening');
    const inFlight = fetch(`${listening.url as string}/slow`).catch(() => undefined);
    await nextLine((l) => l.msg === 'slow request entered');
    // SIGINT first: the handler keeps waiting for SIGTERM, so the drain is still running when SIGTERM comes.
    child.kill('SIGINT');
    await nextLine((l) => l.msg === 'draining');
    child.kill('SIGTERM');
    expect(await exited).toBe(1);
    await inFlight;
  });
});
