import { describe, expect, it } from '@jest/globals';
import { createLogger, saneRequestId } from './logger.ts';

describe('createLogger', () => {
  it('when secrets are logged by known names or headers, then they are redacted', () => {
    const lines: string[] = [];
    const log = createLogger({ name: 't', version: '1', level: 'info', destination: { write: (s: string) => lines.push(s) } });
    log.info({ req: { headers: { authorization: 'Bearer abc', cookie: 'sid=1', accept: 'x' } }, password: 'p1', user: { token: 't1', name: 'ann' }, deep: { a: { secret: 's1' } } }, 'hello');
    const line = lines.join('');
    for (const secret of ['Bearer abc', 'sid=1', 'p1', 't1', 's1']) expect(line).not.toContain(`"${secret}"`);
    expect(JSON.parse(line)).toMatchObject({ level: 'info', service: 't', user: { name: 'ann', token: '[redacted]' }, req: { headers: { accept: 'x' } } });
  });
});

describe('saneRequestId', () => {
  it('when the incoming id is short and printable, then it is kept; otherwise it is dropped', () => {
    expect(saneRequestId('abc-123_X.y:z')).toBe('abc-123_X.y:z');
    expect(saneRequestId('a b')).toBeUndefined();
    expect(saneRequestId('x'.repeat(129))).toBeUndefined();
    expect(saneRequestId(['a', 'b'])).toBeUndefined();
    expect(saneRequestId('<script>')).toBeUndefined();
  });
});
