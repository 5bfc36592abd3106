/**
 * The kit's edge checks against a real server: strings no store can take
 * (U+0000, unpaired surrogates) in path, query and body, JSON nested past
 * BODY_MAX_DEPTH, and request heads node's parser refuses (1 MB header,
 * bad bytes), each answered as problem+json before any handler runs.
 */
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { PROBLEM_CONTENT_TYPE } from '@bulwark/errors';
import { createService, type Service } from '../src/index.ts';
import { captureLogs, testConfig } from './helpers.ts';

let service: Service;
let url: string;
let port: number;
const handled: unknown[] = [];

const Note = z.object({ title: z.string().max(100), tags: z.array(z.string()).optional(), meta: z.json().optional() });

beforeAll(async () => {
  service = createService({
    name: 'bad-input-test',
    config: testConfig(),
    logDestination: captureLogs().destination,
    defaultMetrics: false,
    routes(r) {
      r.post('/notes/:folder', {
        summary: 'Store a note',
        params: z.object({ folder: z.string() }),
        query: z.object({ tag: z.string().optional() }),
        body: Note,
        responses: { 201: z.object({ ok: z.boolean() }) },
        handler: ({ body }) => {
          handled.push(body);
          return { status: 201, body: { ok: true } };
        },
      });
      r.get('/notes', {
        summary: 'Find notes',
        query: z.object({ q: z.string().max(64) }),
        responses: { 200: z.object({ q: z.string() }) },
        handler: ({ query }) => {
          handled.push(query);
          return { status: 200, body: { q: query.q } };
        },
      });
    },
  });
  ({ url, port } = await service.start());
});

afterAll(async () => {
  await service.stop();
});

beforeEach(() => {
  handled.length = 0;
});

async function post(path: string, json: string): Promise<{ status: number; type: string | null; body: Record<string, unknown> }> {
  const res = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: json });
  return { status: res.status, type: res.headers.get('content-type'), body: (await res.json()) as Record<string, unknown> };
}

function nested(depth: number): string {
  return `${'['.repeat(depth)}${']'.repeat(depth)}`;
}

/** Sends `head` on a raw connection and returns everything the server wrote before closing. */
function rawExchange(head: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (reply += d));
    socket.on('end', () => {
      socket.end();
      resolve(reply);
    });
    socket.on('error', (err) => reject(new Error(`${err.message} after ${JSON.stringify(reply.slice(0, 200))}`)));
    socket.write(head);
  });
}

function parseRaw(reply: string): { status: number; headers: Record<string, string>; body: Record<string, unknown> } {
  const [head, body] = [reply.slice(0, reply.indexOf('\r\n\r\n')), reply.slice(reply.indexOf('\r\n\r\n') + 4)];
  const [statusLine, ...lines] = head.split('\r\n');
  const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
  return { status: Number(statusLine!.split(' ')[1]), headers, body: JSON.parse(body) as Record<string, unknown> };
}

describe('strings no store can take', () => {
  it('when a body string holds \\u0000, then 400 problem+json names the field and the handler never runs', async () => {
    const r = await post('/notes/inbox', '{"title":"a\\u0000b"}');
    expect(r.status).toBe(400);
    expect(r.type).toBe(PROBLEM_CONTENT_TYPE);
    expect(r.body).toMatchObject({ code: 'REQUEST_VALIDATION_FAILED', issues: [{ in: 'body', path: 'title', message: expect.stringContaining('U+0000') }] });
    expect(handled).toEqual([]);
  });

  it('when \\u0000 hides in an open property, an array or an object key, then each is named', async () => {
    const r = await post('/notes/inbox', '{"title":"ok","tags":["x","\\u0000"],"meta":{"deep":{"k\\u0000":1}}}');
    expect(r.status).toBe(400);
    const issues = (r.body.issues as { in: string; path: string }[]).map((i) => `${i.in}:${i.path}`).sort();
    expect(issues).toEqual(['body:meta.deep.k\u0000', 'body:tags.1']);
    expect(handled).toEqual([]);
  });

  it('when a body string holds an unpaired surrogate, then 400; a paired one (an emoji) is taken', async () => {
    const lone = await post('/notes/inbox', '{"title":"a\\ud800"}');
    expect(lone.status).toBe(400);
    expect(lone.body).toMatchObject({ code: 'REQUEST_VALIDATION_FAILED', issues: [{ in: 'body', path: 'title', message: expect.stringContaining('surrogate') }] });
    const emoji = await post('/notes/inbox', '{"title":"\\ud83d\\ude00"}');
    expect(emoji.status).toBe(201);
    expect(handled).toEqual([{ title: '\u{1F600}' }]);
  });

  it('when the query holds %00, then 400 problem+json for the query parameter', async () => {
    const res = await fetch(`${url}/notes?q=%00`);
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe(PROBLEM_CONTENT_TYPE);
    expect(await res.json()).toMatchObject({ code: 'REQUEST_VALIDATION_FAILED', issues: [{ in: 'query', path: 'q' }] });
    expect(handled).toEqual([]);
  });

  it('when a path parameter holds %00, then 400 problem+json for the parameter', async () => {
    const r = await post('/notes/in%00box', '{"title":"ok"}');
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ code: 'REQUEST_VALIDATION_FAILED', issues: [{ in: 'params', path: 'folder' }] });
    expect(handled).toEqual([]);
  });

  it('when a path parameter is not valid percent-encoded UTF-8, then 400 problem+json says so', async () => {
    const r = await post('/notes/in%E0%A4box', '{"title":"ok"}');
    expect(r.status).toBe(400);
    expect(r.type).toBe(PROBLEM_CONTENT_TYPE);
    expect(r.body).toMatchObject({ code: 'BAD_REQUEST', detail: 'A path segment is not valid percent-encoded UTF-8.' });
    expect(handled).toEqual([]);
  });

  it('when schema issues come with a refused string, then both are listed once', async () => {
    const r = await post('/notes/inbox', `{"title":"${'x'.repeat(101)}\\u0000","tags":[1]}`);
    expect(r.status).toBe(400);
    expect((r.body.issues as { path: string }[]).map((i) => i.path)).toEqual(['title', 'tags.0']);
  });
});

describe('nesting depth', () => {
  it('when an open property nests 10,000 levels, then 400 JSON_TOO_DEEP problem+json and the handler never runs', async () => {
    const r = await post('/notes/inbox', `{"title":"ok","meta":${nested(10_000)}}`);
    expect(r.status).toBe(400);
    expect(r.type).toBe(PROBLEM_CONTENT_TYPE);
    expect(r.body).toMatchObject({ code: 'JSON_TOO_DEEP', in: 'body', maxDepth: 64 });
    expect(handled).toEqual([]);
  });

  it('when the body nests exactly BODY_MAX_DEPTH levels, then it is taken; one more is refused', async () => {
    expect((await post('/notes/inbox', `{"title":"ok","meta":${nested(63)}}`)).status).toBe(201);
    expect((await post('/notes/inbox', `{"title":"ok","meta":${nested(64)}}`)).body).toMatchObject({ code: 'JSON_TOO_DEEP' });
  });
});

describe('request heads the parser refuses', () => {
  it('when a header is 1 MB, then 431 problem+json HEADERS_TOO_LARGE and the connection closes', async () => {
    const reply = parseRaw(await rawExchange(`GET /notes?q=a HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(1 << 20)}\r\n\r\n`));
    expect(reply.status).toBe(431);
    expect(reply.headers['content-type']).toBe(PROBLEM_CONTENT_TYPE);
    expect(reply.headers.connection).toBe('close');
    expect(reply.body).toMatchObject({ status: 431, code: 'HEADERS_TOO_LARGE', type: 'https://bulwark.dev/problems/headers-too-large', maxHeaderBytes: expect.any(Number) });
    expect(handled).toEqual([]);
  });

  it('when node:http sends a 1 MB header, then the client reads the 431 problem (not a reset)', async () => {
    const { status, type, body } = await new Promise<{ status: number; type: string | undefined; body: string }>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, path: '/notes?q=a', headers: { 'x-big': 'a'.repeat(1 << 20) } }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode!, type: res.headers['content-type'], body: text }));
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(431);
    expect(type).toBe(PROBLEM_CONTENT_TYPE);
    expect(JSON.parse(body)).toMatchObject({ code: 'HEADERS_TOO_LARGE' });
  });

  it('when a header holds a byte HTTP forbids, then 400 problem+json MALFORMED_REQUEST', async () => {
    const reply = parseRaw(await rawExchange('GET /notes?q=a HTTP/1.1\r\nhost: x\r\nx-bad: a\u0000b\r\n\r\n'));
    expect(reply.status).toBe(400);
    expect(reply.headers['content-type']).toBe(PROBLEM_CONTENT_TYPE);
    expect(reply.body).toMatchObject({ status: 400, code: 'MALFORMED_REQUEST' });
  });

  it('when a connection was refused, then the server still serves the next one', async () => {
    await rawExchange(`GET / HTTP/1.1\r\nx-big: ${'a'.repeat(100_000)}\r\n\r\n`);
    const res = await fetch(`${url}/notes?q=fine`);
    expect(res.status).toBe(200);
  });
});
