import { afterAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogDestination, createLogger } from '../src/logger.ts';

const dir = mkdtempSync(join(tmpdir(), 'bulwark-logdest-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const linesIn = (file: string): string[] => readFileSync(file, 'utf8').split('\n').filter(Boolean);

describe('createLogDestination (buffered file sink)', () => {
  it('when lines are written, then they reach the file in order once 4 KiB gathered, and the rest on flush', () => {
    const file = join(dir, 'a.log');
    const dest = createLogDestination(file);
    const log = createLogger({ name: 't', version: '1', level: 'info', destination: dest });
    log.info({ n: 0 }, 'first');
    expect(readFileSync(file, 'utf8')).toBe(''); // gathered, not written per line
    for (let n = 1; n <= 60; n++) log.info({ n, pad: 'x'.repeat(60) }, 'line');
    const early = linesIn(file);
    expect(early.length).toBeGreaterThan(0); // 4 KiB reached: written without a flush
    expect(early.length).toBeLessThan(61);
    dest.flush();
    const all = linesIn(file).map((l) => (JSON.parse(l) as { n: number }).n);
    expect(all).toEqual(Array.from({ length: 61 }, (_, i) => i));
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
