/**
 * Per-request tracing through @opentelemetry/api only, so trace ids exist and
 * propagate whether or not an SDK is running: the W3C `traceparent` of the
 * request is extracted, a server span is started as its child, and the span's
 * context becomes active for the handler. Without an SDK the API hands back
 * non-recording spans; we then mint ids ourselves so logs and responses still
 * carry a trace id, and outbound calls still continue the caller's trace.
 */
import { context, propagation, ProxyTracerProvider, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags, type Context, type Span, type TextMapGetter, type TracerProvider } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { randomFillSync } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** W3C trace context + baggage, used whether or not a global propagator is registered. */
const propagator = new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] });

const headerGetter: TextMapGetter<IncomingHttpHeaders> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key],
};

let contextManagerEnsured = false;

/**
 * Makes sure an async context manager is registered, so the active span
 * follows the request through awaits. If an SDK registered one first, the
 * registration below is refused and theirs is kept.
 */
export function ensureContextManager(): void {
  if (contextManagerEnsured) return;
  contextManagerEnsured = true;
  const manager = new AsyncLocalStorageContextManager();
  if (context.setGlobalContextManager(manager.enable())) return;
  manager.disable();
}

export interface ServerSpan {
  readonly span: Span;
  readonly ctx: Context;
  readonly traceId: string;
  readonly spanId: string;
  /** Value for the response `traceparent` header. */
  readonly traceparent: string;
  /**
   * True when the kit minted this trace itself: no SDK, no incoming
   * traceparent or baggage. Its context then carries nothing an outbound call
   * needs beyond `traceparent` (see requestPropagationHeaders).
   */
  readonly minted: boolean;
}

/** Random bytes are drawn in blocks: one CSPRNG call per ~170 requests instead of per id. */
const ID_POOL_BYTES = 4096;
const idPool = Buffer.allocUnsafe(ID_POOL_BYTES);
let idPoolHex = '';
let idPoolOffset = 0;

/** Random lowercase hex id of `length` characters from the pool (trace, span and request ids need uniqueness, not secrecy). */
export function randomHexId(length: number): string {
  if (idPoolOffset + length > idPoolHex.length) {
    randomFillSync(idPool);
    idPoolHex = idPool.toString('hex');
    idPoolOffset = 0;
  }
  const id = idPoolHex.slice(idPoolOffset, idPoolOffset + length);
  idPoolOffset += length;
  return id;
}

/** The provider the API hands out before an SDK registers one (a shared no-op singleton). */
const NOOP_TRACER_PROVIDER = new ProxyTracerProvider().getDelegate();

/** True once an SDK (or any real provider) is behind the API's global tracer provider. */
export function tracerProviderRegistered(): boolean {
  const provider = trace.getTracerProvider() as TracerProvider & { getDelegate?(): TracerProvider };
  return provider.getDelegate === undefined || provider.getDelegate() !== NOOP_TRACER_PROVIDER;
}

/**
 * A trace the kit minted (no SDK, nothing incoming). Its span and context are
 * built on first use: a raw handler that propagates explicitly never needs
 * them, and they are a non-recording span and a one-entry context anyway.
 */
class MintedServerSpan implements ServerSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly traceparent: string;
  readonly minted = true;
  #span: Span | undefined;
  #ctx: Context | undefined;

  constructor(traceId: string, spanId: string) {
    this.traceId = traceId;
    this.spanId = spanId;
    this.traceparent = `00-${traceId}-${spanId}-00`;
  }

  get span(): Span {
    return (this.#span ??= trace.wrapSpanContext({ traceId: this.traceId, spanId: this.spanId, traceFlags: TraceFlags.NONE, isRemote: false }));
  }

  get ctx(): Context {
    return (this.#ctx ??= trace.setSpan(ROOT_CONTEXT, this.span));
  }
}

/** Starts the server span of a request; `name` is refined later with the route template. */
export function startServerSpan(tracerName: string, method: string, headers: IncomingHttpHeaders): ServerSpan {
  const active = context.active();
  if (headers.traceparent === undefined && headers.baggage === undefined && !tracerProviderRegistered() && trace.getSpan(active) === undefined) {
    // Fast path, no SDK and nothing to continue: the API would only hand back
    // an invalid non-recording span, so mint a root span context directly.
    return new MintedServerSpan(randomHexId(32), randomHexId(16));
  }
  const parentCtx = trace.getSpan(active) ? active : propagator.extract(ROOT_CONTEXT, headers, headerGetter);
  const parent = trace.getSpanContext(parentCtx);
  let span = trace.getTracer(tracerName).startSpan(method, { kind: SpanKind.SERVER, attributes: { 'http.request.method': method } }, parentCtx);
  let sc = span.spanContext();
  if (!span.isRecording() && (!trace.isSpanContextValid(sc) || sc.spanId === parent?.spanId)) {
    // No SDK (or sampled out by a no-op tracer): continue the caller's trace, or start one.
    // A continued trace keeps the caller's tracestate (W3C Trace Context §3.3: a participant
    // that does not add its own entry passes the list on unchanged).
    const valid = parent !== undefined && trace.isSpanContextValid(parent);
    sc = valid
      ? { traceId: parent.traceId, spanId: randomHexId(16), traceFlags: parent.traceFlags, traceState: parent.traceState, isRemote: false }
      : { traceId: randomHexId(32), spanId: randomHexId(16), traceFlags: TraceFlags.NONE, isRemote: false };
    span = trace.wrapSpanContext(sc);
  }
  const ctx = trace.setSpan(parentCtx, span);
  return { span, ctx, traceId: sc.traceId, spanId: sc.spanId, traceparent: `00-${sc.traceId}-${sc.spanId}-0${sc.traceFlags & 1}`, minted: false };
}

/** Names the span after the route template and records the outcome. */
export function endServerSpan(span: Span, method: string, route: string, status: number): void {
  if (!span.isRecording()) return;
  span.updateName(`${method} ${route}`);
  span.setAttribute('http.route', route);
  span.setAttribute('http.response.status_code', status);
  if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
  span.end();
}

/**
 * propagationHeaders for a request's own server span. A trace the kit minted
 * (no SDK, nothing incoming) has no tracestate or baggage, so unless a global
 * propagator was registered since, the W3C header is all there is: it is the
 * response's traceparent, with no validation and injection pass per request.
 */
export function requestPropagationHeaders(server: ServerSpan): Record<string, string> {
  if (server.minted && propagation.fields().length === 0) return { traceparent: server.traceparent };
  return propagationHeaders(server.ctx);
}

/**
 * Headers that carry the current trace (and baggage) to an outbound call:
 * `fetch(url, { headers: { ...propagationHeaders(), accept: 'application/json' } })`.
 * Works for fetch/undici, which the http instrumentation does not patch.
 */
export function propagationHeaders(ctx: Context = context.active()): Record<string, string> {
  const headers: Record<string, string> = {};
  propagator.inject(ctx, headers, { set: (carrier, key, value) => (carrier[key] = value) });
  // A global propagator registered by an SDK may carry more (e.g. b3); let it add its headers too.
  propagation.inject(ctx, headers);
  return headers;
}
