import { afterAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogDestination, createLogger, LOG_BUFFER_BYTES } from '../src/logger.ts';

const dir = mkdtempSync(join(tmpdir(), 'bulwark-logdest-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const linesIn = (file: string): string[] => readFileSync(file, 'utf8').split('\n').filter(Boolean);

describe('createLogDestination (buffered file sink)', () => {
  it('when lines are written, then they reach the file in order once a buffer is gathered, and the rest on flush', () => {
    const file = join(dir, 'a.log');
    const dest = createLogDestination(file);
    const log = createLogger({ name: 't', version: '1', level: 'info', destination: dest });
    log.info({ n: 0 }, 'first');
    expect(readFileSync(file, 'utf8')).toBe(''); // gathered, not written per line
    const lines = Math.ceil((2 * LOG_BUFFER_BYTES) / 100);
    for (let n = 1; n <= lines; n++) log.info({ n, pad: 'x'.repeat(60) }, 'line');
    const early = linesIn(file);
    expect(early.length).toBeGreaterThan(0); // a buffer filled: written without a flush
    expect(early.length).toBeLessThan(lines + 1);
    dest.flush();
    const all = linesIn(file).map((l) => (JSON.parse(l) as { n: number }).n);
    expect(all).toEqual(Array.from({ length: lines + 1 }, (_, i) => i));
    dest.end();
  });

  it('when lines carry multi-byte characters or exceed the buffer, then every byte arrives intact and in order', () => {
    const file = join(dir, 'utf8.log');
    const dest = createLogDestination(file);
    const log = createLogger({ name: 't', version: '1', level: 'info', destination: dest });
    const texts = ['Zürich €', '東京 🚀', 'y'.repeat(LOG_BUFFER_BYTES * 2), 'after the long one'];
    for (let i = 0; i < 300; i++) log.info({ i, text: texts[i % texts.length] }, 'mixed');
    dest.flush();
    const parsed = linesIn(file).map((l) => JSON.parse(l) as { i: number; text: string });
    expect(parsed.map((p) => p.i)).toEqual(Array.from({ length: 300 }, (_, i) => i));
    expect(parsed.every((p) => p.text === texts[p.i % texts.length])).toBe(true);
    dest.end();
  });

  it('when the process exits without a flush, then pending lines are written synchronously on exit', () => {
    const file = join(dir, 'exit.log');
    const loggerModule = fileURLToPath(new URL('../src/logger.ts', import.meta.url));
    const script = `const { createLogDestination, createLogger } = await import(${JSON.stringify(loggerModule)});
      const log = createLogger({ name: 't', version: '1', level: 'info', destination: createLogDestination(${JSON.stringify(file)}) });
      log.info('before exit'); process.exit(0);`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(child.stderr).toBe('');
    expect(child.status).toBe(0);
    expect(linesIn(file).map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(['before exit']);
  });
});
