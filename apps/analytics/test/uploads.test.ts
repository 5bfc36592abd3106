/**
 * POST /v1/uploads against the real Kafka and PostgreSQL: CSV and NDJSON
 * with bad rows reported by line while the good ones are stored; oversize
 * refused before reading (Content-Length) and while reading (a chunked body
 * passing UPLOAD_MAX_BYTES), the report naming exactly the rows accepted
 * before; unknown content types refused.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { TEST_TENANT } from '@bulwark/test-support';
import { setupAnalytics, waitFor, type TestAnalytics } from './support.ts';

const MAX_BYTES = 4096;
let t: TestAnalytics;
let url: string;

const hourAgo = new Date(Date.now() - 3_600_000).toISOString();
const upload = async (body: string, contentType: string) => {
  const res = await fetch(`${url}/v1/uploads`, { method: 'POST', headers: { 'content-type': contentType, 'x-auth-tenant': TEST_TENANT }, body });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

/** A raw request: `head` headers, then each chunk written after `before(i)` resolves; the answer read whenever it comes. */
function rawUpload(headers: Record<string, string | number>, chunks: string[], before: (i: number) => Promise<void> = async () => undefined): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const target = new URL('/v1/uploads', url);
    const req = request({ host: target.hostname, port: target.port, path: target.pathname, method: 'POST', headers: { 'x-auth-tenant': TEST_TENANT, ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) as Record<string, unknown> }));
    });
    req.on('error', () => undefined); // the server closes after answering early; the answer is what counts
    void (async () => {
      for (const [i, chunk] of chunks.entries()) {
        await before(i);
        if (req.destroyed) return;
        req.write(chunk);
      }
    })().catch(reject);
  });
}

beforeAll(async () => {
  t = await setupAnalytics();
  ({ url } = await t.start({ UPLOAD_MAX_BYTES: String(MAX_BYTES), UPLOAD_CHUNK_ROWS: '2', UPLOAD_MAX_ERRORS: '2' }));
});

afterAll(() => t?.cleanup());

describe('POST /v1/uploads', () => {
  it('when a CSV holds bad rows, then the good ones are stored and each bad one is named by line (the list capped, the count not)', async () => {
    const csv = [
      'id,type,occurredAt,userId,props',
      `c-1,purchase,${hourAgo},u1,"{""orderId"":""o1"",""amountCents"":100,""currency"":""EUR""}"`,
      `c-2,purchase,${hourAgo},u2,"{""orderId"":""o2"",""amountCents"":""ten"",""currency"":""EUR""}"`,
      `c-3,signup,${hourAgo},,`,
      `c-4,teleport,${hourAgo},,`,
      `c-5,click,${hourAgo},u5,"{""target"":""a,b""}"`,
      `c-6,click,${hourAgo},u5,{not json}`,
    ].join('\r\n');
    const res = await upload(csv, 'text/csv');
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ accepted: 3, rejected: 3, rows: 6, bytes: Buffer.byteLength(csv), errorsTruncated: true });
    expect(res.body.errors).toEqual([
      { index: 1, id: 'c-2', line: 3, pointer: '/props/amountCents', detail: expect.any(String) },
      { index: 3, id: 'c-4', line: 5, pointer: '/type', detail: expect.stringContaining('unknown event type') },
    ]);
    await waitFor(async () => (await t.count()) === 3, 'the three good rows stored');
    const { rows } = await t.db.query<{ event_id: string; props: unknown }>("SELECT event_id, props FROM events WHERE event_id LIKE 'c-%' ORDER BY event_id");
    expect(rows.map((r) => r.event_id)).toEqual(['c-1', 'c-3', 'c-5']);
    expect(rows[2]!.props).toEqual({ target: 'a,b' });
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/^analytics_upload_rows_total\{format="csv",outcome="accepted"[^}]*\} 3$/m);
    expect(metrics).toMatch(/^analytics_upload_rows_total\{format="csv",outcome="rejected"[^}]*\} 3$/m);
  });

  it('when NDJSON holds a line that is not JSON, then it is named and the rest stored; a file with no good row is 422', async () => {
    const ndjson = [JSON.stringify({ id: 'n-1', type: 'signup', occurredAt: hourAgo }), '{oops', '', JSON.stringify({ id: 'n-2', type: 'signup', occurredAt: hourAgo })].join('\n');
    const res = await upload(ndjson, 'application/x-ndjson');
    expect(res).toMatchObject({ status: 202, body: { accepted: 2, rejected: 1, rows: 3, errors: [{ index: 1, line: 2, detail: 'the line is not JSON' }] } });
    await waitFor(async () => (await t.count('signup')) === 3, 'n-1 and n-2 stored');
    const none = await upload('{"id":"x"}\n', 'application/x-ndjson');
    expect(none).toMatchObject({ status: 422, body: { code: 'ANALYTICS_UPLOAD_INVALID' } });
    const header = await upload('id,kind\nx,y\n', 'text/csv');
    expect(header).toMatchObject({ status: 422, body: { code: 'ANALYTICS_UPLOAD_INVALID', reason: expect.stringContaining('unknown column "kind"') } });
    expect(await upload('{}', 'application/json')).toMatchObject({ status: 415, body: { code: 'ANALYTICS_UPLOAD_UNSUPPORTED' } });
  });

  it('when Content-Length is over the limit, then it is 413 before a byte is read', async () => {
    const res = await rawUpload({ 'content-type': 'text/csv', 'content-length': 100 * 1_048_576 }, ['id,type,occurredAt\n']);
    expect(res).toMatchObject({ status: 413, body: { code: 'ANALYTICS_UPLOAD_TOO_LARGE', accepted: 0 } });
  });

  it('when a chunked upload passes the limit while read, then it is 413 naming the rows accepted before, and those are stored', async () => {
    const before = await t.count();
    const row = (i: number) => JSON.stringify({ id: `big-${i}`, type: 'signup', occurredAt: hourAgo, props: { method: 'x'.repeat(40) } }) + '\n';
    const first = row(1) + row(2); // one chunk of UPLOAD_CHUNK_ROWS rows: published as soon as read
    const rest = Array.from({ length: 60 }, (_, i) => row(i + 3)).join(''); // passes MAX_BYTES
    const res = await rawUpload({ 'content-type': 'application/x-ndjson', 'transfer-encoding': 'chunked' }, [first, rest], async (i) => {
      if (i === 1) await waitFor(async () => (await t.count()) === before + 2, 'the first two rows stored before more is sent');
    });
    expect(res).toMatchObject({ status: 413, body: { code: 'ANALYTICS_UPLOAD_TOO_LARGE', accepted: 2, maxBytes: MAX_BYTES } });
    expect(await t.count()).toBe(before + 2);
  });
});
