/**
 * Signed delivery to real receiving HTTP servers on loopback (allowed
 * explicitly), verified on the receiver side with @bulwark/webhook-signature.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startHttpServer, type HttpServer } from '@bulwark/test-support';
import { SIGNATURE_HEADER, signatureHeader, verifySignature } from '@bulwark/webhook-signature';
import { deliver } from '../src/index.ts';

interface Received {
  body: string;
  header: string | undefined;
}

let server: HttpServer;
let url: string;
const received: Received[] = [];
let failuresLeft = 0;

beforeAll(async () => {
  server = await startHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ body: Buffer.concat(chunks).toString('utf8'), header: req.headers[SIGNATURE_HEADER] as string | undefined });
      if (failuresLeft > 0) {
        failuresLeft -= 1;
        res.writeHead(503).end('busy, try later');
      } else {
        res.writeHead(200).end('ok');
      }
    });
  });
  url = `${server.url}/hook`;
});

afterAll(async () => {
  await server.close();
});

const loopbackOk = { allowLoopback: true };

describe('deliver', () => {
  it('signs with both active secrets; the receiver accepts the current and the rotated secret and rejects tampering and replays', async () => {
    received.length = 0;
    const body = JSON.stringify({ type: 'order.confirmed', orderId: 'o-1' });
    const result = await deliver({ url, body, secrets: ['new-secret', 'old-secret'], eventId: 'e1', eventType: 'order.confirmed', ssrf: loopbackOk });
    expect(result).toMatchObject({ ok: true, status: 200, responseSnippet: 'ok' });
    const [got] = received;
    expect(got!.body).toBe(body);
    // Receiver that has only the new secret, and one still on the old secret.
    expect(verifySignature(got!.header, got!.body, ['new-secret'])).toMatchObject({ ok: true });
    expect(verifySignature(got!.header, got!.body, ['old-secret'])).toMatchObject({ ok: true });
    expect(verifySignature(got!.header, got!.body, ['other'])).toMatchObject({ ok: false });
    expect(verifySignature(got!.header, got!.body.replace('o-1', 'o-2'), ['new-secret'])).toMatchObject({ ok: false });
    const now = Math.floor(Date.now() / 1000);
    expect(verifySignature(got!.header, got!.body, ['new-secret'], { toleranceSeconds: 300, nowSeconds: now + 3600 })).toMatchObject({ ok: false });
    const stale = signatureHeader(body, ['new-secret'], now - 3600);
    expect(verifySignature(stale, body, ['new-secret'], { toleranceSeconds: 300 })).toMatchObject({ ok: false });
  });

  it('reports a failing receiver with status and response snippet', async () => {
    failuresLeft = 1;
    const result = await deliver({ url, body: '{}', secrets: ['s'], eventId: 'e2', eventType: 't', ssrf: loopbackOk });
    expect(result).toMatchObject({ ok: false, status: 503, responseSnippet: 'busy, try later' });
    failuresLeft = 0;
  });

  it('refuses loopback at delivery time unless allowed, after DNS resolution too', async () => {
    received.length = 0;
    const { port } = new URL(server.url);
    const literal = await deliver({ url, body: '{}', secrets: ['s'], eventId: 'e3', eventType: 't' });
    expect(literal).toMatchObject({ ok: false, status: undefined });
    expect(literal.error).toMatch(/loopback/);
    const viaDns = await deliver({ url: `http://localhost:${port}/hook`, body: '{}', secrets: ['s'], eventId: 'e4', eventType: 't' });
    expect(viaDns).toMatchObject({ ok: false, status: undefined });
    expect(viaDns.error).toMatch(/forbidden address/);
    expect(received).toHaveLength(0);
  });

  it('refuses loopback carried inside IPv6 forms at delivery time: the IPv4-mapped form reaches the receiver when loopback is allowed, and none is sent to by default', async () => {
    const { port } = new URL(server.url);
    received.length = 0;
    const mapped = `http://[::ffff:127.0.0.1]:${port}/hook`; // a live route to 127.0.0.1 on a dual-stack host
    expect(await deliver({ url: mapped, body: '{}', secrets: ['s'], eventId: 'e6', eventType: 't', ssrf: loopbackOk })).toMatchObject({ ok: true, status: 200 });
    expect(received).toHaveLength(1);
    received.length = 0;
    for (const host of ['[::ffff:127.0.0.1]', '[::ffff:7f00:1]', '[::7f00:1]', '[64:ff9b::7f00:1]', '[2002:7f00:1::]']) {
      const result = await deliver({ url: `http://${host}:${port}/hook`, body: '{}', secrets: ['s'], eventId: 'e7', eventType: 't' });
      expect([host, result.ok, result.error]).toEqual([host, false, expect.stringMatching(/^forbidden address .*loopback address 127\.0\.0\.1 in/)]);
    }
    expect(received).toHaveLength(0);
  });

  it('rejects oversize payloads with a 413 before sending', async () => {
    received.length = 0;
    await expect(deliver({ url, body: 'x'.repeat(2048), secrets: ['s'], eventId: 'e5', eventType: 't', maxPayloadBytes: 1024, ssrf: loopbackOk })).rejects.toMatchObject({
      code: 'NOTIFICATIONS_PAYLOAD_TOO_LARGE',
      status: 413,
    });
    expect(received).toHaveLength(0);
  });
});
