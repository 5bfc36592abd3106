import { afterEach, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const fixture = fileURLToPath(new URL('./fixtures/slow-service.ts', import.meta.url));

/** Booting the fixture loads the OpenTelemetry SDK through the loader hook: slow on a loaded machine. */
const FIXTURE_TEST_TIMEOUT_MS = 180_000;

interface Fixture {
  child: ChildProcessWithoutNullStreams;
  exited: Promise<number | null>;
  /** Resolves with the first log line matching `predicate`; rejects if the process exits before one appears. */
  nextLine(predicate: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
}

const running = new Set<ChildProcessWithoutNullStreams>();

afterEach(() => {
  // A failed assertion must not leave a fixture process behind.
  for (const child of running) child.kill('SIGKILL');
  running.clear();
});

function startFixture(): Fixture {
  const child = spawn(`${root}scripts/run`, ['node', '--conditions=bulwark-source', '--import', '@bulwark/service-kit/register', fixture], {
    cwd: root,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', OTEL_EXPORTER_OTLP_ENDPOINT: '' },
  });
  running.add(child);
  const waiters: { predicate: (line: Record<string, unknown>) => boolean; resolve: (line: Record<string, unknown>) => void }[] = [];
  const seen: Record<string, unknown>[] = [];
  let stdoutClosed = false;
  let stderr = '';
  const stdout = createInterface({ input: child.stdout });
  stdout.on('line', (text) => {
    let line: Record<string, unknown>;
    try {
      line = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return;
    }
    seen.push(line);
    for (const w of [...waiters]) if (w.predicate(line)) w.resolve(line);
  });
  // Every line has been delivered once stdout has closed, so a line still awaited then will never come.
  const outputDone = new Promise<void>((resolve) =>
    stdout.once('close', () => {
      stdoutClosed = true;
      resolve();
    }),
  );
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  void exited.then(() => {
    running.delete(child);
    if (stderr) process.stderr.write(`fixture stderr:\n${stderr}\n`);
  });
  return {
    child,
    exited,
    nextLine: (predicate) =>
      new Promise((resolve, reject) => {
        const found = seen.find(predicate);
        if (found) return resolve(found);
        if (stdoutClosed) return reject(new Error(`fixture output ended without the awaited line; stderr:\n${stderr}`));
        waiters.push({ predicate, resolve });
        void outputDone.then(() => {
          if (!seen.some(predicate)) reject(new Error(`fixture output ended without the awaited line; stderr:\n${stderr}`));
        });
      }),
  };
}

describe('runService in a real process', () => {
  it('when SIGTERM arrives with a request in flight, then the request is answered and the process exits 0', async () => {
    const { child, exited, nextLine } = startFixture();
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
  }, FIXTURE_TEST_TIMEOUT_MS);

  it('when a second signal arrives during shutdown, then the process exits 1', async () => {
    const { child, exited, nextLine } = startFixture();
    const listening = await nextLine((l) => l.msg === 'listening');
    const inFlight = fetch(`${listening.url as string}/slow`).catch(() => undefined);
    await nextLine((l) => l.msg === 'slow request entered');
    // SIGINT first: the handler keeps waiting for SIGTERM, so the drain is still running when SIGTERM comes.
    child.kill('SIGINT');
    await nextLine((l) => l.msg === 'draining');
    child.kill('SIGTERM');
    expect(await exited).toBe(1);
    await inFlight;
  }, FIXTURE_TEST_TIMEOUT_MS);
});
