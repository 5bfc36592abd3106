/**
 * A service as the cluster runs it: its own `main.ts` in a child Node process
 * (TypeScript sources through the `bulwark-source` condition) on a free
 * loopback port, ready once /readyz answers, stopped with SIGTERM and a grace
 * period. The tail of its stdout/stderr goes into every startup failure.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from './port.ts';
import { waitFor } from './wait.ts';

const OUTPUT_TAIL_CHARS = 8_000;

export interface StartServiceOptions {
  /** The entry point, e.g. `src/main.ts`: absolute, or relative to `cwd`. */
  main: string;
  /** Names the service in errors; defaults to `main`. */
  name?: string;
  /** The child's working directory; defaults to this process's. */
  cwd?: string;
  /** Defaults to a free port. */
  port?: number;
  /**
   * Added to this process's environment over the defaults HOST=127.0.0.1 and
   * LOG_LEVEL=warn; PORT is always `port`.
   */
  env?: Record<string, string>;
  /** Bounds a hang while waiting for /readyz (default 60 s); asserts nothing about speed. */
  readyDeadlineMs?: number;
  /** How long stop() waits after SIGTERM before SIGKILL (default 5 s). */
  stopGraceMs?: number;
  /** Called with the child as soon as it is spawned (e.g. to kill it if the caller is interrupted). */
  onSpawn?: (child: ChildProcess) => void;
}

export interface Service {
  readonly name: string;
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  readonly child: ChildProcess;
  /** Resolves with the exit code (null when a signal ended the process). */
  readonly exited: Promise<number | null>;
  /** The last few KiB of its stdout and stderr, interleaved. */
  output(): string;
  /** Sends `signal` unless it has exited already; resolves with the exit code. */
  kill(signal?: NodeJS.Signals): Promise<number | null>;
  /** SIGTERM, then SIGKILL if it is still running after the grace period; resolves once it has exited. */
  stop(): Promise<void>;
}

/** Starts `main` as a child process and resolves once its /readyz answers 2xx; a child that exits or never gets ready is killed and reported with its output. */
export async function startService(options: StartServiceOptions): Promise<Service> {
  const { main, name = main, cwd, readyDeadlineMs = 60_000, stopGraceMs = 5_000 } = options;
  const port = options.port ?? (await freePort());
  const child = spawn(process.execPath, ['--conditions=bulwark-source', '--no-warnings', main], {
    cwd,
    env: { ...process.env, HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...options.env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  options.onSpawn?.(child);
  let output = '';
  const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-OUTPUT_TAIL_CHARS));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      resolve(code);
      // A grandchild holding the pipes would keep them (and the caller's event loop) open: let the last output in, then drop them.
      setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
      }, 1_000).unref();
    }),
  );
  const running = () => child.exitCode === null && child.signalCode === null;
  const kill = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (running()) child.kill(signal);
    return exited;
  };
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(async () => {
      if (!running()) throw new Error(`${name} exited (${child.exitCode ?? child.signalCode}) before it was ready`);
      try {
        return (await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1_000) })).ok;
      } catch {
        return false;
      }
    }, `${name} ready on ${url}`, readyDeadlineMs);
  } catch (err) {
    await kill('SIGKILL');
    // The last lines (a crash's stack trace) may still be in the pipes when 'exit' fires.
    await Promise.race([closed, new Promise((r) => setTimeout(r, 1_000).unref())]);
    throw new Error(`${(err as Error).message}\n${name} output (last ${OUTPUT_TAIL_CHARS} chars):\n${output}`, { cause: err });
  }
  return {
    name,
    url,
    port,
    child,
    exited,
    output: () => output,
    kill,
    async stop() {
      if (running()) {
        child.kill('SIGTERM');
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, stopGraceMs)))]);
        clearTimeout(timer);
      }
      await kill('SIGKILL');
    },
  };
}
