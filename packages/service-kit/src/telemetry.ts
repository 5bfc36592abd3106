/**
 * The OpenTelemetry SDK of a service process: auto-instrumentation for http,
 * express, pg, ioredis and kafkajs, and an OTLP/HTTP trace exporter only when
 * an endpoint is configured. Without an endpoint no tracer provider is
 * installed (spans are free no-ops) and the kit still mints and propagates
 * trace ids itself. Started by register.ts before the application loads.
 */
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { ExpressInstrumentation } from '@opentelemetry/instrumentation-express';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { KafkaJsInstrumentation } from '@opentelemetry/instrumentation-kafkajs';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace';

export interface TelemetryOptions {
  serviceName: string;
  /** OTLP/HTTP base URL, e.g. `http://otel-collector:4318`; traces go to `<endpoint>/v1/traces`. */
  otlpEndpoint?: string | undefined;
  /** Replaces the default instrumentations. */
  instrumentations?: Instrumentation[];
}

export interface Telemetry {
  readonly exporting: boolean;
  shutdown(): Promise<void>;
}

let active: Telemetry | undefined;

export function defaultInstrumentations(): Instrumentation[] {
  return [
    new HttpInstrumentation({ ignoreIncomingRequestHook: (req) => req.url === '/healthz' || req.url === '/readyz' || req.url === '/metrics' }),
    new ExpressInstrumentation(),
    new PgInstrumentation(),
    new IORedisInstrumentation(),
    new KafkaJsInstrumentation(),
  ];
}

/** Starts the SDK once per process; later calls return the running instance. */
export function startTelemetry(options: TelemetryOptions): Telemetry {
  if (active) return active;
  const endpoint = options.otlpEndpoint?.replace(/\/+$/, '');
  const sdk = new NodeSDK({
    serviceName: options.serviceName,
    instrumentations: options.instrumentations ?? defaultInstrumentations(),
    spanProcessors: endpoint ? [new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url: `${endpoint}/v1/traces` }) })] : [],
    // Metrics are Prometheus (prom-client) and logs are pino on stdout: no OTLP readers or log processors.
    metricReaders: [],
    logRecordProcessors: [],
  });
  sdk.start();
  active = { exporting: endpoint !== undefined, shutdown: () => sdk.shutdown() };
  return active;
}

/** Flushes and stops the SDK if one was started; runService calls it after the service stopped. */
export async function shutdownTelemetry(): Promise<void> {
  const telemetry = active;
  active = undefined;
  await telemetry?.shutdown();
}
