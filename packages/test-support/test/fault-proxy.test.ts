import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { IncomingMessage } from 'node:http';
import { startFaultProxy, startHttpServer, waitFor, type FaultProxy, type HttpServer, type ProxiedRequest } from '@bulwark/test-support';

interface Taken {
  method: string;
  path: string;
  body: string;
  header: string | undefined;
}

async function bodyOf(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

describe('startFaultProxy', () => {
  let target: HttpServer;
  let proxy: FaultProxy;
  /** Requests the target took (its effect), in order, and how many answers it finished sending. */
  let taken: Taken[];
  let answered: number;

  beforeEach(async () => {
    taken = [];
    answered = 0;
    target = await startHttpServer((req, res) => {
      void bodyOf(req).then((body) => {
        taken.push({ method: req.method!, path: req.url!, body, header: req.headers['x-test'] as string | undefined });
        res.on('finish', () => answered++);
        res.writeHead(req.url!.startsWith('/created') ? 201 : 200, { 'content-type': 'application/json', 'x-answer': `n${taken.length}` });
        res.end(JSON.stringify({ n: taken.length }));
      });
    });
    proxy = await startFaultProxy(target.url);
  });
  afterEach(async () => {
    await proxy.close();
    await target.close();
  });

  const post = (path: string, body = '{"a":1}') => fetch(`${proxy.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-test': 't' }, body });

  it('when no rule matches, then the request reaches the target as sent and the answer comes back as given', async () => {
    proxy.arm({ match: (r) => r.path === '/never' });
    const res = await post('/created/x?q=1', '{"order":"o-1"}');
    expect(res.status).toBe(201);
    expect(res.headers.get('x-answer')).toBe('n1');
    expect(await res.json()).toEqual({ n: 1 });
    expect(taken).toEqual([{ method: 'POST', path: '/created/x?q=1', body: '{"order":"o-1"}', header: 't' }]);
    expect(proxy.seen.map((r) => [r.method, r.path, r.body])).toEqual([['POST', '/created/x?q=1', '{"order":"o-1"}']]);
    expect(proxy.acted).toBe(0);
  });

  it('when a rule with onAnswered matches, then the hook runs once the target took the request and before the caller has the answer, once by default', async () => {
    let callerHasAnswer = false;
    const inHook: { taken: number; callerHasAnswer: boolean; status: number; body: string }[] = [];
    proxy.arm({
      match: (r) => r.path === '/step',
      onAnswered: async (req: ProxiedRequest, status) => {
        // A sentinel through the same proxy: answered while the hook still holds the first answer.
        const sentinel = await fetch(`${proxy.url}/sentinel`);
        expect(sentinel.status).toBe(200);
        inHook.push({ taken: taken.filter((t) => t.path === '/step').length, callerHasAnswer, status, body: req.body });
      },
    });
    const first = post('/step').then((r) => {
      callerHasAnswer = true;
      return r;
    });
    expect((await first).status).toBe(200);
    expect(inHook).toEqual([{ taken: 1, callerHasAnswer: false, status: 200, body: '{"a":1}' }]);
    expect((await post('/step')).status).toBe(200); // the rule acted once: the second passes untouched
    expect(inHook).toHaveLength(1);
    expect(proxy.acted).toBe(1);
  });

  it('when a rule drops a request, then its onArrived hook runs, the target never takes it and the caller gets no answer; the next passes', async () => {
    const arrived: string[] = [];
    proxy.arm({ match: (r) => r.path === '/reserve', onArrived: (req) => void arrived.push(`${req.method} ${req.path} ${taken.length}`), drop: true });
    await expect(post('/reserve')).rejects.toThrow(/fetch failed/);
    expect(arrived).toEqual(['POST /reserve 0']); // before it was forwarded
    // The sentinel after it, through the same proxy, is taken: the dropped one never reached the target.
    expect((await post('/reserve')).status).toBe(200);
    expect(taken.map((t) => t.path)).toEqual(['/reserve']);
    expect(proxy.acted).toBe(1);
  });

  it('when a rule replaces the status, then the target took every matching request but the callers get the status and no body, until it is disarmed', async () => {
    const disarm = proxy.arm({ match: (r) => r.path.startsWith('/capture'), replaceStatus: 503, times: Infinity });
    for (let i = 0; i < 2; i++) {
      const res = await post('/capture');
      expect(res.status).toBe(503);
      expect(await res.text()).toBe('');
    }
    disarm();
    expect((await post('/capture')).status).toBe(200);
    expect(taken.map((t) => t.path)).toEqual(['/capture', '/capture', '/capture']);
    expect(proxy.acted).toBe(2);
  });

  it('when a rule holds, then the answer waits for the promise while other requests pass, and then arrives as given', async () => {
    let release!: () => void;
    const hold = new Promise<void>((resolve) => (release = resolve));
    proxy.arm({ match: (r) => r.path === '/held', hold });
    let heldSettled = false;
    const held = post('/held').finally(() => (heldSettled = true));
    await waitFor(() => answered === 1, 'the target answered the held request');
    // A request after it, through the same proxy, comes back: the proxy works, and the held answer is still held.
    expect((await post('/after')).status).toBe(200);
    expect(heldSettled).toBe(false);
    release();
    const res = await held;
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ n: 1 });
  });

  it('when the target is down, then the caller gets a 502 naming the error', async () => {
    await target.close();
    const res = await post('/anything');
    expect(res.status).toBe(502);
    expect(await res.text()).toMatch(/fetch failed/);
  });
});
