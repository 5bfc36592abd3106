/**
 * Publishes the payment events outbox to Kafka, at least once, in outbox
 * order. Each round claims a batch with FOR UPDATE SKIP LOCKED (several
 * replicas share the work without publishing a row twice at the same time),
 * publishes it (acks=all, the row's event id as CloudEvents id, so a
 * re-publish after a crash is a duplicate consumers drop), then marks it
 * published in the same transaction.
 */
import type { Logger } from 'pino';
import { withTransaction, type DbPool } from '@bulwark/db';
import type { EventProducer } from '@bulwark/events';
import { PAYMENT_EVENTS, type PaymentEventData } from '../domain/payment-events.ts';
import type { TransitionKind } from '../psp/intent.ts';

export interface OutboxRelayOptions {
  pool: DbPool;
  producer: EventProducer;
  topic: string;
  batchSize: number;
  pollIntervalMs: number;
  log: Logger;
}

export interface OutboxRelay {
  start(): void;
  /** Stops after the round in flight. */
  stop(): Promise<void>;
  /** One round; returns how many events it published (tests, shutdown). */
  publishOnce(): Promise<number>;
  readonly running: boolean;
}

interface OutboxRow {
  id: string;
  eventId: string;
  orderId: string;
  type: TransitionKind;
  data: PaymentEventData;
  createdAt: Date;
}

export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  let running = false;
  let loop: Promise<void> | undefined;
  let wake: (() => void) | undefined;

  async function publishOnce(): Promise<number> {
    return withTransaction(options.pool, async (tx) => {
      const { rows } = await tx.query<OutboxRow>(
        `SELECT id, event_id AS "eventId", order_id AS "orderId", type, data, created_at AS "createdAt" FROM payment_events_outbox
         WHERE published_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`,
        [options.batchSize],
      );
      if (rows.length === 0) return 0;
      await Promise.all(rows.map((r) => options.producer.publish(options.topic, PAYMENT_EVENTS[r.type], r.data, { key: r.orderId, id: r.eventId, time: r.createdAt })));
      await tx.query(`UPDATE payment_events_outbox SET published_at = now() WHERE id = ANY($1::bigint[])`, [rows.map((r) => r.id)]);
      return rows.length;
    });
  }

  async function run(): Promise<void> {
    while (running) {
      let published = 0;
      try {
        published = await publishOnce();
      } catch (err) {
        options.log.warn({ err }, 'outbox relay round failed; retrying');
      }
      if (published < options.batchSize && running) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, options.pollIntervalMs).unref();
        });
        wake = undefined;
      }
    }
  }

  return {
    publishOnce,
    get running() {
      return running;
    },
    start() {
      if (running) return;
      running = true;
      loop = run();
    },
    async stop() {
      running = false;
      wake?.();
      await loop;
    },
  };
}
