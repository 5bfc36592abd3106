export { createKafka, rawConsumer, type EventsKafka, type KafkaOptions } from './kafka.ts';
export { defineEvent, createEventRegistry, type EventDefinition, type DefineEventOptions, type EventRegistry, type EventData } from './registry.ts';
export { toKafkaRecord, fromKafkaRecord, headersToStrings, SPEC_VERSION, JSON_CONTENT_TYPE, type CloudEvent, type KafkaRecord } from './envelope.ts';
export { createProducer, type EventProducer, type ProducerOptions, type PublishOptions } from './producer.ts';
export { createConsumer, handle, consumerTopicSpecs, type EventConsumer, type ConsumerOptions, type EventHandler, type HandlerContext, type PrepareContext } from './consumer.ts';
export {
  connectAdmin,
  provisionTopics,
  ensureTopics,
  fetchConsumerLag,
  computeLag,
  type TopicAdmin,
  type TopicSpec,
  type TopicDescription,
  type CleanupPolicy,
  type ProvisionResult,
  type PartitionLag,
} from './admin.ts';
export { createOutboxRelay, type OutboxRelay, type OutboxRelayOptions } from './outbox.ts';
export { replayDeadLetters, type ReplayOptions, type ReplayResult, type DeadLetter } from './replay.ts';
export { retryTopicName, deadLetterTopicName, planFailure, retryPolicy, RETRY_HEADERS, DEFAULT_RETRY_DELAYS_MS, type RetryPolicy, type FailurePlan } from './retry.ts';
export { migrateProcessedEventStore, pruneProcessedEvents } from './processed-store.ts';
export {
  EVENTS_ERROR_CODES,
  EventDecodeError,
  ProducerClosedError,
  PublishFailedError,
  ProvisioningError,
  NonRetryableError,
  type EventsErrorCode,
} from './errors.ts';
