/**
 * analytics' own metrics beside the writer's (ingest/writer.ts): upload rows
 * by outcome, series reads by what answered them (the rollups' hit ratio)
 * and open live feeds. Registered once on the service's registry.
 */
import { Counter, Gauge, type Registry } from 'prom-client';

export interface AnalyticsMetrics {
  uploadRows: Counter<'format' | 'outcome'>;
  seriesReads: Counter<'source'>;
}

export function createAnalyticsMetrics(registry: Registry, openLiveFeeds: () => number): AnalyticsMetrics {
  new Gauge({
    name: 'analytics_live_feeds',
    help: 'Live feeds (GET /v1/live server-sent-event streams) open on this instance.',
    registers: [registry],
    collect() {
      this.set(openLiveFeeds());
    },
  });
  return {
    uploadRows: new Counter({ name: 'analytics_upload_rows_total', help: 'Rows of uploads (POST /v1/uploads) by format and outcome: accepted (in Kafka) or rejected (reported per row).', labelNames: ['format', 'outcome'], registers: [registry] }),
    seriesReads: new Counter({ name: 'analytics_series_reads_total', help: 'Series answered, by source: rollup (hourly rollups) or raw (the events).', labelNames: ['source'], registers: [registry] }),
  };
}
