/**
 * Prometheus metrics of the package, created once per registry so several
 * producers and consumers can share one registry (labels tell them apart).
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface EventsMetrics {
  produced: Counter<'topic' | 'type'>;
  produceErrors: Counter<'topic' | 'type'>;
  sendDuration: Histogram<'outcome'>;
  batchSize: Histogram;
  consumed: Counter<'group' | 'topic' | 'type' | 'outcome'>;
  handlerDuration: Histogram<'group' | 'type' | 'outcome'>;
  lag: Gauge<'group' | 'topic' | 'partition'>;
  replayed: Counter<'topic'>;
}

const cache = new WeakMap<Registry, EventsMetrics>();

export function metricsFor(registry: Registry): EventsMetrics {
  const found = cache.get(registry);
  if (found) return found;
  const registers = [registry];
  const metrics: EventsMetrics = {
    produced: new Counter({ name: 'events_produced_total', help: 'Events acknowledged by Kafka (acks=all).', labelNames: ['topic', 'type'], registers }),
    produceErrors: new Counter({ name: 'events_produce_errors_total', help: 'Events whose batch Kafka did not acknowledge.', labelNames: ['topic', 'type'], registers }),
    sendDuration: new Histogram({
      name: 'events_send_duration_seconds',
      help: 'Latency of one producer batch send until acknowledged.',
      labelNames: ['outcome'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    batchSize: new Histogram({ name: 'events_producer_batch_size', help: 'Events per producer batch.', buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000], registers }),
    consumed: new Counter({
      name: 'events_consumed_total',
      help: 'Events taken off Kafka by outcome: handled, duplicate, ignored, retried, dead_lettered.',
      labelNames: ['group', 'topic', 'type', 'outcome'],
      registers,
    }),
    handlerDuration: new Histogram({
      name: 'events_handler_duration_seconds',
      help: 'Handler plus processed-event transaction time.',
      labelNames: ['group', 'type', 'outcome'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    lag: new Gauge({ name: 'events_consumer_lag', help: 'High watermark minus committed offset, per partition.', labelNames: ['group', 'topic', 'partition'], registers }),
    replayed: new Counter({ name: 'events_dlq_replayed_total', help: 'Dead letters moved back to their original topic.', labelNames: ['topic'], registers }),
  };
  cache.set(registry, metrics);
  return metrics;
}
