import { afterEach, describe, expect, it } from '@jest/globals';
import { pino } from 'pino';
import { handleShutdownSignals } from './lifecycle.ts';

/** A signal nothing else in the test process listens to, emitted in-process (no real signal is sent). */
const SIGNAL = 'SIGUSR2';

function recorder() {
  const lines: Array<{ msg: string; level: number }> = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as { msg: string; level: number }) });
  const codes: number[] = [];
  let exited!: (code: number) => void;
  const exitCode = new Promise<number>((resolve) => (exited = resolve));
  const exit = (code: number): void => {
    codes.push(code);
    exited(code);
  };
  return { log, lines, codes, exit, exitCode };
}

let remove: (() => void) | undefined;
afterEach(() => remove?.());

describe('handleShutdownSignals', () => {
  it('when stop resolves, then the process exits 0', async () => {
    const r = recorder();
    let stopped = 0;
    remove = handleShutdownSignals({ log: r.log, signals: [SIGNAL], exit: r.exit, stop: async () => void stopped++ });
    process.emit(SIGNAL, SIGNAL);
    expect(await r.exitCode).toBe(0);
    expect(stopped).toBe(1);
  });

  it('when stop rejects, then the process exits 1 and logs why', async () => {
    const r = recorder();
    remove = handleShutdownSignals({ log: r.log, signals: [SIGNAL], exit: r.exit, stop: () => Promise.reject(new Error('drain failed')) });
    process.emit(SIGNAL, SIGNAL);
    expect(await r.exitCode).toBe(1);
    expect(r.lines.map((l) => l.msg)).toContain('shutdown failed');
  });

  it('when stop never ends, then the deadline exits 1 and stop is not called twice', async () => {
    const r = recorder();
    let calls = 0;
    remove = handleShutdownSignals({ log: r.log, signals: [SIGNAL], exit: r.exit, deadlineMs: 20, stop: () => (calls++, new Promise<void>(() => undefined)) });
    process.emit(SIGNAL, SIGNAL);
    expect(await r.exitCode).toBe(1);
    expect(r.lines.map((l) => l.msg)).toContain('shutdown deadline passed: exiting');
    expect(calls).toBe(1);
  });

  it('when a second signal arrives during stop, then the process exits 1 at once', async () => {
    const r = recorder();
    remove = handleShutdownSignals({ log: r.log, signals: [SIGNAL], exit: r.exit, stop: () => new Promise<void>(() => undefined) });
    process.emit(SIGNAL, SIGNAL);
    process.emit(SIGNAL, SIGNAL);
    expect(await r.exitCode).toBe(1);
    expect(r.lines.map((l) => l.msg)).toEqual(['signal received: shutting down', 'second signal: exiting now']);
  });
});
