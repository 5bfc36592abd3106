/** The chat's Prometheus metrics (the dashboard's and alerts' inputs), on the kit's registry. */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export function createChatMetrics(registry: Registry) {
  return {
    connections: new Gauge({ name: 'chat_connections', help: 'Open WebSocket connections on this instance.', registers: [registry] }),
    refused: new Counter({ name: 'chat_connections_closed_total', help: 'Connections closed by the server, by close code (auth refusals, rate limit, slow consumer, drain).', labelNames: ['code'], registers: [registry] }),
    framesIn: new Counter({ name: 'chat_frames_received_total', help: 'Client frames received, by type (bad: not a protocol frame; limited: refused by the rate limit).', labelNames: ['type'], registers: [registry] }),
    messages: new Counter({ name: 'chat_messages_posted_total', help: 'Messages posted (committed with a sequence number) through this instance.', registers: [registry] }),
    delivered: new Counter({ name: 'chat_frames_sent_total', help: "Room events handed to this instance's subscribed connections (one frame each; a blocked sender's message goes out as a hidden frame, a user's own typing is dropped), by event type.", labelNames: ['type'], registers: [registry] }),
    deliveryLatency: new Histogram({
      name: 'chat_delivery_seconds',
      help: "From the publishing instance's publish to this instance writing the event's frame to the last of its local recipients, once per event and instance (both clocks: one node, or NTP-synchronised nodes).",
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    catchUps: new Counter({ name: 'chat_catch_ups_total', help: 'Reads from PostgreSQL to fill a sequence gap or resume, by reason (subscribe, gap, resync).', labelNames: ['reason'], registers: [registry] }),
    slowConsumers: new Counter({ name: 'chat_slow_consumers_total', help: 'Connections closed 4009 because their send buffer passed WS_MAX_BUFFERED_BYTES.', registers: [registry] }),
    busPublished: new Counter({ name: 'chat_bus_published_total', help: 'Events published on Redis, by type.', labelNames: ['type'], registers: [registry] }),
    busPublishFailures: new Counter({ name: 'chat_bus_publish_failures_total', help: 'Publishes that failed (the change is committed; subscribers repair it from the sequence).', registers: [registry] }),
    busReceived: new Counter({ name: 'chat_bus_received_total', help: 'Events received from Redis for a channel this instance listens to.', registers: [registry] }),
    presenceChanges: new Counter({ name: 'chat_presence_changes_total', help: "Users' presence changes published (online, away, offline), by status and cause (connect, disconnect, expired).", labelNames: ['status', 'cause'], registers: [registry] }),
  };
}

export type ChatMetrics = ReturnType<typeof createChatMetrics>;
