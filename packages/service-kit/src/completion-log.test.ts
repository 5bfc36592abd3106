import { describe, expect, it } from '@jest/globals';
import { pino } from 'pino';
import { completionLog, jsonMillis, jsonPath, type CompletionFields } from './completion-log.ts';
import { createLogger } from './logger.ts';

function capture(): { lines: string[]; destination: { write(line: string): void } } {
  const lines: string[] = [];
  return { lines, destination: { write: (line: string) => void lines.push(line) } };
}

const fields: CompletionFields = {
  reqId: 'req-1',
  traceId: '0af7651916cd43dd8448eb211c80319c',
  spanId: 'b7ad6b7169203331',
  method: 'GET',
  route: 'proxy:orders',
  path: '/orders/"quoted"\\and\u0001ctl/ünïcode',
  status: 200,
  durationMs: 1.234,
};

describe('completionLog', () => {
  it('when written for a kit logger, then the line is the JSON pino writes for the same call, key order included', () => {
    const a = capture();
    const b = capture();
    const viaPino = createLogger({ name: 'svc', version: '1.2.3', level: 'debug', destination: a.destination }).child({}, { redact: [] });
    const direct = createLogger({ name: 'svc', version: '1.2.3', level: 'debug', destination: b.destination }).child({}, { redact: [] });
    viaPino.info(fields, 'request completed');
    viaPino.debug(fields, 'request completed');
    const write = completionLog(direct);
    write('info', fields);
    write('debug', fields);
    expect(b.lines).toHaveLength(2);
    for (let i = 0; i < 2; i++) {
      expect(b.lines[i]!.endsWith('\n')).toBe(true);
      const expected = JSON.parse(a.lines[i]!) as Record<string, unknown>;
      const actual = JSON.parse(b.lines[i]!) as Record<string, unknown>;
      expect(typeof actual.time).toBe('number');
      expect(Object.keys(actual)).toEqual(Object.keys(expected));
      expect({ ...actual, time: 0 }).toEqual({ ...expected, time: 0 });
    }
  });

  it('when the logger has a mixin, then it falls back to pino (the mixin fields are kept)', () => {
    const c = capture();
    const log = pino({ mixin: () => ({ extra: 1 }) }, c.destination);
    completionLog(log)('info', fields);
    expect(JSON.parse(c.lines[0]!)).toMatchObject({ extra: 1, reqId: 'req-1', msg: 'request completed' });
  });
});

describe('jsonPath and jsonMillis', () => {
  it('when a path is plain or needs escaping, then the text parses back to the path, as JSON.stringify gives it', () => {
    for (const path of ['/orders/123', '/a b/ünïcode/€', '/q"uote', '/back\\slash', '/ctl\u0001x', '/lone\ud800', '']) {
      expect(jsonPath(path)).toBe(JSON.stringify(path));
    }
  });

  it('when durations are formatted, then each is the text JSON gives the value rounded to the microsecond', () => {
    const samples = [0, 0.0004, 0.0005, 0.001, 0.01, 0.1, 0.12, 1, 1.2, 1.234, 1.5, 10.05, 12.034, 99.999, 1000, 1234567.891, 2_147_483.6475, 3_000_000.5, -1, Number.NaN];
    for (let i = 0; i < 2000; i++) samples.push(Math.random() * 10 ** ((i % 7) - 1));
    for (const ms of samples) expect(jsonMillis(ms)).toBe(JSON.stringify(Math.round(ms * 1000) / 1000));
  });
});
