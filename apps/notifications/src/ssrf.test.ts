import { describe, expect, it } from '@jest/globals';
import { forbiddenReason, parseEndpointUrl, checkEndpointUrl } from './ssrf.ts';

describe('forbiddenReason', () => {
  it.each(['127.0.0.1', '127.9.9.9', '::1', '::ffff:127.0.0.1'])('rejects loopback %s by default', (a) => {
    expect(forbiddenReason(a)).toBe('loopback address');
  });
  it.each(['10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', 'fd00::1', 'fe80::1', '100.64.0.1'])('rejects private %s', (a) => {
    expect(forbiddenReason(a)).toBe('private or link-local address');
  });
  it.each(['0.0.0.0', '224.0.0.1', '::', 'ff02::1'])('always rejects %s', (a) => {
    expect(forbiddenReason(a, { allowLoopback: true, allowPrivate: true })).toBeDefined();
  });
  it.each(['8.8.8.8', '172.32.0.1', '2606:4700::1111'])('allows public %s', (a) => {
    expect(forbiddenReason(a)).toBeUndefined();
  });
  it('allows loopback only when configured', () => {
    expect(forbiddenReason('127.0.0.1', { allowLoopback: true })).toBeUndefined();
    expect(forbiddenReason('10.0.0.1', { allowLoopback: true })).toBe('private or link-local address');
  });
});

describe('parseEndpointUrl', () => {
  it.each(['not a url', 'ftp://example.com/x', 'file:///etc/passwd', 'http://user:pw@example.com/'])('rejects %s with a 422', (raw) => {
    expect(() => parseEndpointUrl(raw)).toThrow(expect.objectContaining({ code: 'NOTIFICATIONS_INVALID_URL', status: 422 }));
  });
  it('accepts https URLs', () => {
    expect(parseEndpointUrl('https://example.com/hook').hostname).toBe('example.com');
  });
});

describe('checkEndpointUrl', () => {
  it('rejects hosts that resolve to loopback', async () => {
    await expect(checkEndpointUrl('http://localhost:9/hook')).rejects.toMatchObject({ code: 'NOTIFICATIONS_URL_FORBIDDEN', status: 422 });
    await expect(checkEndpointUrl('http://[::1]/hook')).rejects.toMatchObject({ code: 'NOTIFICATIONS_URL_FORBIDDEN' });
    await expect(checkEndpointUrl('http://169.254.169.254/latest/meta-data')).rejects.toMatchObject({ code: 'NOTIFICATIONS_URL_FORBIDDEN' });
  });
  it('accepts loopback when explicitly allowed', async () => {
    await expect(checkEndpointUrl('http://127.0.0.1:9/hook', { allowLoopback: true })).resolves.toBeInstanceOf(URL);
  });
});
