import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createService, propagationHeaders, type Service } from '../src/index.ts';
import { captureLogs, testConfig } from './helpers.ts';

// No tracer provider registered: the kit must still mint and propagate ids.
const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const logs = captureLogs();
const received: IncomingHttpHeaders[] = [];
let receiver: Server;
let service: Service;
let url: string;

beforeAll(async () => {
  receiver = createServer((req, res) => {
    received.push(req.headers);
    res.end();
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  service = createService({
    name: 'no-sdk',
    config: testConfig(),
    logDestination: logs.destination,
    routes(r) {
      r.get('/out', {
        summary: 'Calls out',
        responses: { 204: null },
        handler: async () => {
          await (await fetch(receiverUrl, { headers: propagationHeaders() })).arrayBuffer();
          return { status: 204 };
        },
      });
    },
  });
  ({ url } = await service.start());
});

afterAll(async () => {
  await service.stop();
  await new Promise((resolve) => receiver.close(resolve));
});

describe('tracing without an SDK', () => {
  it('when a traceparent arrives, then the trace continues with a new span id on the response, logs and outbound call', async () => {
    const res = await fetch(`${url}/out`, { headers: { traceparent: `00-${TRACE_ID}-b7ad6b7169203331-01` } });
    expect(res.status).toBe(204);
    const [, traceId, spanId] = (res.headers.get('traceparent') ?? '').split('-');
    expect(traceId).toBe(TRACE_ID);
    expect(spanId).not.toBe('b7ad6b7169203331');
    expect(received[0]?.traceparent).toBe(`00-${TRACE_ID}-${spanId}-01`);
    expect(logs.lines.find((l) => l.msg === 'request completed' && l.route === '/out')).toMatchObject({ traceId: TRACE_ID, spanId });
  });

  it('when a tracestate arrives with the traceparent, then the outbound call carries it unchanged', async () => {
    const before = received.length;
    const tracestate = 'vendor1=opaque-value,rojo=00f067aa0ba902b7';
    const res = await fetch(`${url}/out`, { headers: { traceparent: `00-${TRACE_ID}-b7ad6b7169203331-01`, tracestate } });
    expect(res.status).toBe(204);
    const out = received[before]!;
    expect(out.traceparent).toMatch(new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-01$`));
    expect(out.tracestate).toBe(tracestate);
  });

  it('when no traceparent arrives, then a trace id is minted', async () => {
    const res = await fetch(`${url}/healthz`);
    expect(res.headers.get('traceparent')).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
  });
});
