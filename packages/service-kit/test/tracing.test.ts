import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { z } from 'zod';
import { createService, propagationHeaders, type Service } from '../src/index.ts';
import { captureLogs, testConfig } from './helpers.ts';

// A real SDK tracer provider exporting to memory (the SDK, not infrastructure).
const exporter = new InMemorySpanExporter();
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
trace.setGlobalTracerProvider(provider);

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_SPAN_ID = '00f067aa0ba902b7';

const logs = captureLogs();
const received: IncomingHttpHeaders[] = [];
let receiver: Server;
let receiverUrl: string;
let service: Service;
let url: string;

beforeAll(async () => {
  receiver = createServer((req, res) => {
    received.push(req.headers);
    res.end('{}');
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  service = createService({
    name: 'tracing-test',
    config: testConfig(),
    logDestination: logs.destination,
    routes(r) {
      r.get('/call-out', {
        summary: 'Calls the receiver',
        responses: { 200: z.object({ ok: z.boolean() }) },
        handler: async ({ log }) => {
          log.info('calling receiver');
          await new Promise((resolve) => setTimeout(resolve, 1)); // cross an async boundary first
          const res = await fetch(receiverUrl, { headers: propagationHeaders() });
          await res.arrayBuffer();
          return { status: 200, body: { ok: res.ok } };
        },
      });
    },
  });
  ({ url } = await service.start());
});

afterAll(async () => {
  await service.stop();
  await new Promise((resolve) => receiver.close(resolve));
  await provider.shutdown();
});

describe('trace propagation', () => {
  it('when a request carries a traceparent, then its trace id is on the logs, the response and the outbound call', async () => {
    const res = await fetch(`${url}/call-out`, { headers: { traceparent: `00-${TRACE_ID}-${PARENT_SPAN_ID}-01` } });
    expect(res.status).toBe(200);
    await res.arrayBuffer();

    const [, responseTrace, responseSpan] = (res.headers.get('traceparent') ?? '').split('-');
    expect(responseTrace).toBe(TRACE_ID);
    expect(responseSpan).not.toBe(PARENT_SPAN_ID);

    const handlerLine = logs.lines.find((l) => l.msg === 'calling receiver');
    const completed = logs.lines.find((l) => l.msg === 'request completed' && l.route === '/call-out');
    expect(handlerLine).toMatchObject({ traceId: TRACE_ID, spanId: responseSpan, reqId: expect.any(String) });
    expect(completed).toMatchObject({ traceId: TRACE_ID, spanId: responseSpan });

    expect(received).toHaveLength(1);
    expect(received[0]?.traceparent).toBe(`00-${TRACE_ID}-${responseSpan}-01`);

    const span = exporter.getFinishedSpans().find((s) => s.name === 'GET /call-out');
    expect(span?.spanContext().traceId).toBe(TRACE_ID);
    expect(span?.parentSpanContext?.spanId).toBe(PARENT_SPAN_ID);
    expect(span?.attributes['http.route']).toBe('/call-out');
  });

  it('when a request has no traceparent, then a new trace starts and is returned', async () => {
    const res = await fetch(`${url}/healthz`);
    expect(res.headers.get('traceparent')).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(res.headers.get('traceparent')).not.toContain(TRACE_ID);
  });
});
