/**
 * The error codes of @bulwark/events, registered once at import. Decoding
 * errors are deterministic (retrying cannot fix a malformed message), so the
 * consumer sends messages that raise them straight to the dead-letter topic.
 */
import { AppError, registerErrorCodes, type ErrorCodeInfo } from '@bulwark/errors';

export const EVENTS_ERROR_CODES = [
  {
    code: 'EVENTS_UNKNOWN_TYPE',
    status: 500,
    title: 'Unknown event type',
    description: 'An event type or version was published or received that no defineEvent() in the registry declares; register it or fix the producer.',
  },
  {
    code: 'EVENTS_INVALID_ENVELOPE',
    status: 400,
    title: 'Invalid event envelope',
    description: 'A Kafka message lacks a required CloudEvents attribute (ce_id, ce_type, ce_source, ce_specversion, version) or its body is not JSON; it goes to the dead-letter topic.',
  },
  {
    code: 'EVENTS_INVALID_DATA',
    status: 400,
    title: 'Invalid event data',
    description: "An event's data does not match the zod schema of its type and version (after upcasting); the producer is refused, the consumer dead-letters it.",
  },
  {
    code: 'EVENTS_PRODUCER_CLOSED',
    status: 503,
    title: 'Event producer closed',
    description: 'publish() was called after close(), usually while shutting down; the caller should fail the request so it is retried elsewhere.',
  },
  {
    code: 'EVENTS_PUBLISH_FAILED',
    status: 503,
    title: 'Event publish failed',
    description: 'Kafka did not acknowledge a batch (acks=all) within the producer retries; nothing in the batch may be assumed written.',
  },
  {
    code: 'EVENTS_PROVISIONING_FAILED',
    status: 500,
    title: 'Topic provisioning failed',
    description: 'Creating topics, adding partitions or altering topic configs failed, or a declared partition count is lower than the existing one.',
  },
] as const satisfies readonly ErrorCodeInfo[];

registerErrorCodes(EVENTS_ERROR_CODES);

export type EventsErrorCode = (typeof EVENTS_ERROR_CODES)[number]['code'];

/** The message cannot become an event: unknown type, bad envelope, or data failing its schema. Never retried. */
export class EventDecodeError extends AppError {
  constructor(code: 'EVENTS_UNKNOWN_TYPE' | 'EVENTS_INVALID_ENVELOPE' | 'EVENTS_INVALID_DATA', message: string, cause?: unknown) {
    super(code, message, { status: code === 'EVENTS_UNKNOWN_TYPE' ? 500 : 400, cause });
    this.name = 'EventDecodeError';
  }
}

export class ProducerClosedError extends AppError {
  constructor() {
    super('EVENTS_PRODUCER_CLOSED', 'event producer is closed', { status: 503, retryAfterSeconds: 1 });
    this.name = 'ProducerClosedError';
  }
}

export class PublishFailedError extends AppError {
  constructor(message: string, cause: unknown) {
    super('EVENTS_PUBLISH_FAILED', message, { status: 503, retryAfterSeconds: 1, cause });
    this.name = 'PublishFailedError';
  }
}

export class ProvisioningError extends AppError {
  constructor(message: string, cause?: unknown) {
    super('EVENTS_PROVISIONING_FAILED', message, { status: 500, cause });
    this.name = 'ProvisioningError';
  }
}

/**
 * Thrown by a handler (or wrapping its cause) to skip the retry topics and
 * dead-letter the event at once: retrying cannot help.
 */
export class NonRetryableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NonRetryableError';
  }
}
