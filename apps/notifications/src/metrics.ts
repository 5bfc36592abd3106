/** Business metrics of the notifications service (the kit adds HTTP and process metrics, @bulwark/jobs the queue metrics). */
import { Counter, Histogram, type Registry } from 'prom-client';

export interface NotificationsMetrics {
  /** outcome: succeeded|failed|dead|skipped. */
  deliveryAttempts: Counter<'outcome'>;
  deliveryLatency: Histogram;
  /** event: breaker-opened|disabled|recovered. */
  endpointHealth: Counter<'event'>;
  /** channel, outcome: sent|failed|suppressed. */
  messages: Counter<'channel' | 'outcome'>;
  /** type: delivered|bounced|complained; outcome: applied|ignored|bad_signature. */
  providerEvents: Counter<'type' | 'outcome'>;
  /** Domain events turned into deliveries (type = CloudEvents type). */
  domainEvents: Counter<'type'>;
  /** Rows the dispatcher's reconciliation repaired: kind delivery|message, repair job-created|marked-dead. */
  dispatchReconciled: Counter<'kind' | 'repair'>;
  /** Deliveries released (run now, spaced per endpoint) when their endpoint recovered. */
  deliveriesReleased: Counter;
  /** Order confirmation mails by outcome: queued|duplicate|suppressed|no_customer|no_account|lookup_failed|lookup_retried. */
  confirmationMails: Counter<'outcome'>;
  /** Client-credentials tokens fetched from identity: ok|error. */
  serviceTokens: Counter<'outcome'>;
}

export function createNotificationsMetrics(registry: Registry): NotificationsMetrics {
  return {
    deliveryAttempts: new Counter({ name: 'notifications_webhook_attempts_total', help: 'Webhook delivery attempts by outcome.', labelNames: ['outcome'], registers: [registry] }),
    deliveryLatency: new Histogram({
      name: 'notifications_webhook_attempt_seconds',
      help: 'Webhook attempt latency (request to response).',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    endpointHealth: new Counter({ name: 'notifications_endpoint_health_events_total', help: 'Endpoint breaker opened, endpoint disabled (notice), endpoint recovered.', labelNames: ['event'], registers: [registry] }),
    messages: new Counter({ name: 'notifications_messages_total', help: 'Email/SMS send outcomes.', labelNames: ['channel', 'outcome'], registers: [registry] }),
    providerEvents: new Counter({ name: 'notifications_provider_events_total', help: 'Provider delivery/bounce/complaint webhooks.', labelNames: ['type', 'outcome'], registers: [registry] }),
    domainEvents: new Counter({ name: 'notifications_domain_events_total', help: 'Domain events consumed from Kafka and fanned out.', labelNames: ['type'], registers: [registry] }),
    dispatchReconciled: new Counter({
      name: 'notifications_dispatch_reconciled_total',
      help: 'Pending rows whose queue state disagreed, repaired by the dispatcher: a job created (lost or never added) or the row marked dead (its job was dead-lettered).',
      labelNames: ['kind', 'repair'],
      registers: [registry],
    }),
    deliveriesReleased: new Counter({ name: 'notifications_webhook_released_total', help: 'Held deliveries released when their endpoint breaker closed after a successful probe.', registers: [registry] }),
    confirmationMails: new Counter({
      name: 'notifications_confirmation_mails_total',
      help: 'Order confirmation mails: queued, duplicate (the order had one), suppressed, no_customer (event without customerId), no_account, lookup_retried (identity failed; the event is retried), lookup_failed (given up on the last attempt).',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    serviceTokens: new Counter({ name: 'notifications_service_tokens_total', help: 'Client-credentials tokens requested from identity, by outcome (ok|error).', labelNames: ['outcome'], registers: [registry] }),
  };
}
