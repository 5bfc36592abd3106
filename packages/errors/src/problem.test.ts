import { describe, expect, it } from '@jest/globals';
import { AppError, registerErrorCodes, toProblem } from './index.ts';

registerErrorCodes([{ code: 'TEST_THING_MISSING', status: 404, title: 'Thing not found', description: 'test' }]);

describe('toProblem', () => {
  it('when an AppError is mapped, then status, code, title and extensions are kept', () => {
    const p = toProblem(new AppError('TEST_THING_MISSING', 'thing 42 does not exist', { status: 404, extensions: { thingId: 42 } }), '/things/42');
    expect(p.status).toBe(404);
    expect(p.body).toMatchObject({ status: 404, code: 'TEST_THING_MISSING', title: 'Thing not found', detail: 'thing 42 does not exist', thingId: 42, instance: '/things/42' });
    expect(p.body.type).toBe('https://bulwark.dev/problems/test-thing-missing');
  });

  it('when retryAfterSeconds is set, then a Retry-After header is produced', () => {
    const p = toProblem(new AppError('X_BUSY', 'busy', { status: 503, retryAfterSeconds: 1.2 }));
    expect(p.headers['retry-after']).toBe('2');
    expect(p.body.detail).toBe('busy');
  });

  it('when an unknown error is mapped, then it is a 500 that leaks nothing', () => {
    const p = toProblem(new Error('password=hunter2 at db.ts:12'));
    expect(p.status).toBe(500);
    expect(JSON.stringify(p.body)).not.toContain('hunter2');
  });

  it('when an AppError is a 500, then its internal message is hidden', () => {
    const p = toProblem(new AppError('X_BROKEN', 'socket /tmp/secret failed', { status: 500 }));
    expect(p.body.detail).not.toContain('secret');
  });

  it('when a code is registered twice with another meaning, then registration throws', () => {
    expect(() => registerErrorCodes([{ code: 'TEST_THING_MISSING', status: 400, title: 'Other', description: 'x' }])).toThrow(/already registered/);
  });
});
