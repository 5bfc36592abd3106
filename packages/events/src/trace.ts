/**
 * Trace context across Kafka with @opentelemetry/api only: the producer
 * injects the active context (W3C traceparent/tracestate) into each event,
 * the consumer extracts it, starts a consumer span as its child and runs the
 * handler inside that context. Works with or without an SDK: without one the
 * API's non-recording spans still carry the producer's trace id.
 */
import { context, isSpanContextValid, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags, type Context, type Span } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { isTracingSuppressed, W3CTraceContextPropagator } from '@opentelemetry/core';

const TRACER = '@bulwark/events';
const w3c = new W3CTraceContextPropagator();

let contextManagerEnsured = false;

/** Registers an async context manager unless an SDK already did, so `context.with` reaches the handler's awaits. */
export function ensureContextManager(): void {
  if (contextManagerEnsured) return;
  contextManagerEnsured = true;
  const manager = new AsyncLocalStorageContextManager();
  if (!context.setGlobalContextManager(manager.enable())) manager.disable();
}

export interface TraceHeaders {
  traceparent: string | undefined;
  tracestate: string | undefined;
}

// A ProxyTracer: it finds the SDK's tracer once one is registered, so one per module is enough (getTracer() builds a new one per call).
const tracer = trace.getTracer(TRACER);
const NO_HEADERS: TraceHeaders = Object.freeze({ traceparent: undefined, tracestate: undefined });

/**
 * Starts a producer span under the active context and returns it with the
 * headers that continue it: the W3C traceparent of the span (what
 * W3CTraceContextPropagator.inject writes for it), written directly, so a
 * publish allocates no context. No SDK, no active trace, or tracing
 * suppressed: no headers.
 */
export function startPublishSpan(type: string, topic: string): { span: Span; headers: TraceHeaders } {
  const parent = context.active();
  const span = tracer.startSpan(`publish ${type}`, {
    kind: SpanKind.PRODUCER,
    attributes: { 'messaging.system': 'kafka', 'messaging.destination.name': topic, 'messaging.operation.type': 'send', 'cloudevents.event_type': type },
  }, parent);
  const sc = span.spanContext();
  if (!isSpanContextValid(sc) || isTracingSuppressed(parent)) return { span, headers: NO_HEADERS };
  return { span, headers: { traceparent: `00-${sc.traceId}-${sc.spanId}-0${Number(sc.traceFlags || TraceFlags.NONE).toString(16)}`, tracestate: sc.traceState?.serialize() } };
}

/** The context a consumer handler runs in: a consumer span, child of the producer's context when present. */
export function startProcessSpan(type: string, topic: string, headers: TraceHeaders): { span: Span; ctx: Context } {
  const carrier: Record<string, string> = {};
  if (headers.traceparent) carrier.traceparent = headers.traceparent;
  if (headers.tracestate) carrier.tracestate = headers.tracestate;
  const parent = w3c.extract(ROOT_CONTEXT, carrier, { keys: (c) => Object.keys(c), get: (c, k) => c[k] });
  // Let a registered global propagator (e.g. baggage) add what it understands.
  const withGlobal = propagation.extract(parent, carrier);
  const span = tracer.startSpan(`process ${type}`, {
    kind: SpanKind.CONSUMER,
    attributes: { 'messaging.system': 'kafka', 'messaging.destination.name': topic, 'messaging.operation.type': 'process', 'cloudevents.event_type': type },
  }, withGlobal);
  return { span, ctx: trace.setSpan(withGlobal, span) };
}

export function endSpan(span: Span, err?: unknown): void {
  if (err !== undefined) {
    span.recordException(err instanceof Error ? err : String(err));
    span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
  }
  span.end();
}

export { context };
