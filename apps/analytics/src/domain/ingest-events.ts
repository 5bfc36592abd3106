/**
 * Use case: accept a batch of events for a tenant. Each row is validated on
 * its own; the good rows are published to the ingest topic (acks=all) and
 * only then reported accepted, the bad ones reported per row. Storage is the
 * writer's job: 202 means "in Kafka", not yet "queryable".
 */
import { analyticsError } from '../errors.ts';
import { validateEvents, type AcceptWindow, type AnalyticsEvent, type RowError } from './event-types.ts';

export interface IngestReport {
  accepted: number;
  rejected: number;
  errors: RowError[];
}

export type PublishEvents = (events: readonly AnalyticsEvent[]) => Promise<void>;

export async function ingestEvents(rows: readonly unknown[], single: boolean, tenant: string, window: AcceptWindow, publish: PublishEvents): Promise<IngestReport> {
  const { accepted, errors } = validateEvents(rows, tenant, window, single ? '' : '/events');
  if (accepted.length === 0) throw analyticsError('ANALYTICS_EVENTS_INVALID', `none of the ${rows.length} events is valid`, { errors });
  try {
    await publish(accepted);
  } catch (err) {
    throw Object.assign(analyticsError('ANALYTICS_INGEST_UNAVAILABLE', 'Kafka did not take the events; nothing of this request is stored, retry with the same ids'), { cause: err });
  }
  return { accepted: accepted.length, rejected: errors.length, errors };
}
