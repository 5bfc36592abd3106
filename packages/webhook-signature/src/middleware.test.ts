import { describe, expect, it } from '@jest/globals';
import { AppError } from '@bulwark/errors';
import { verifyWebhookMiddleware } from './middleware.ts';
import { signatureHeader } from './signature.ts';

function run(mw: ReturnType<typeof verifyWebhookMiddleware>, headers: Record<string, string>, body: unknown): unknown {
  let passed: unknown = 'not called';
  mw({ headers, body }, {}, (err?: unknown) => {
    passed = err;
  });
  return passed;
}

describe('verifyWebhookMiddleware', () => {
  const body = Buffer.from('{"id":"evt_9"}');

  it('passes a signed raw body and reads the secrets per request (rotation without restart)', () => {
    let secrets = ['a'];
    const mw = verifyWebhookMiddleware({ secrets: () => secrets });
    expect(run(mw, { 'bulwark-signature': signatureHeader(body, ['a']) }, body)).toBeUndefined();
    secrets = ['b'];
    expect(run(mw, { 'bulwark-signature': signatureHeader(body, ['a']) }, body)).toBeInstanceOf(AppError);
    expect(run(mw, { 'bulwark-signature': signatureHeader(body, ['b']) }, body)).toBeUndefined();
  });

  it('fails with a 401 AppError naming the reason', () => {
    const mw = verifyWebhookMiddleware({ secrets: () => ['a'] });
    const err = run(mw, {}, body) as AppError;
    expect(err.status).toBe(401);
    expect(err.code).toBe('WEBHOOK_SIGNATURE_INVALID');
    expect(err.extensions).toEqual({ reason: 'missing' });
    const stale = run(mw, { 'bulwark-signature': signatureHeader(body, ['a'], Math.floor(Date.now() / 1000) - 3600) }, body) as AppError;
    expect(stale.extensions).toEqual({ reason: 'stale' });
  });

  it('cannot be satisfied when the body was already parsed as JSON', () => {
    const mw = verifyWebhookMiddleware({ secrets: () => ['a'] });
    const err = run(mw, { 'bulwark-signature': signatureHeader(body, ['a']) }, { id: 'evt_9' }) as AppError;
    expect(err.extensions).toEqual({ reason: 'mismatch' });
  });

  it('honours a custom header name', () => {
    const mw = verifyWebhookMiddleware({ secrets: () => ['a'], header: 'X-PSP-Signature' });
    expect(run(mw, { 'x-psp-signature': signatureHeader(body, ['a']) }, body)).toBeUndefined();
  });
});
