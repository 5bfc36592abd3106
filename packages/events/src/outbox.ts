/**
 * Publishes a transactional outbox table to Kafka, at least once, in outbox
 * order. Services write an event row in the same transaction as their state
 * change; this relay claims a batch with FOR UPDATE SKIP LOCKED (several
 * replicas share the work without publishing a row twice at the same time),
 * publishes it (acks=all, the row's event id as CloudEvents id, so a
 * re-publish after a crash is a duplicate that consumers drop), then marks it
 * published in the same transaction.
 *
 * The table needs: id bigserial (the order), event_id uuid, a key column (the
 * Kafka key: per-aggregate ordering), type text (a key of `events`), data jsonb,
 * created_at timestamptz, published_at timestamptz NULL.
 */
import { withTransaction, type DbPool } from '@bulwark/db';
import type { Logger } from '@bulwark/service-kit/logging';
import type { EventProducer } from './producer.ts';
import type { EventDefinition } from './registry.ts';

export interface OutboxRelayOptions<TData> {
  pool: DbPool;
  producer: EventProducer;
  topic: string;
  /** The outbox table, optionally schema-qualified (an SQL identifier, checked). */
  table: string;
  /** Column whose value becomes the Kafka key; default `order_id`. */
  keyColumn?: string;
  /** Event definition per value of the `type` column. */
  events: Readonly<Record<string, EventDefinition<string, TData>>>;
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

interface OutboxRow<TData> {
  id: string;
  eventId: string;
  key: string;
  type: string;
  data: TData;
  createdAt: Date;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$/;

export function createOutboxRelay<TData>(options: OutboxRelayOptions<TData>): OutboxRelay {
  const keyColumn = options.keyColumn ?? 'order_id';
  if (!IDENTIFIER.test(options.table)) throw new Error(`outbox table must be an SQL identifier, got ${JSON.stringify(options.table)}`);
  if (!IDENTIFIER.test(keyColumn) || keyColumn.includes('.')) throw new Error(`outbox key column must be an SQL identifier, got ${JSON.stringify(keyColumn)}`);
  const select = `SELECT id, event_id AS "eventId", ${keyColumn} AS "key", type, data, created_at AS "createdAt" FROM ${options.table}
     WHERE published_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`;
  const markPublished = `UPDATE ${options.table} SET published_at = now() WHERE id = ANY($1::bigint[])`;
  let running = false;
  let loop: Promise<void> | undefined;
  let wake: (() => void) | undefined;

  function definitionOf(type: string): EventDefinition<string, TData> {
    const definition = options.events[type];
    // A row no definition covers is a deploy mistake; failing the round keeps it (and everything after it) in the outbox.
    if (!definition) throw new Error(`outbox ${options.table} holds an event of type ${JSON.stringify(type)} that no definition covers`);
    return definition;
  }

  async function publishOnce(): Promise<number> {
    return withTransaction(options.pool, async (tx) => {
      const { rows } = await tx.query<OutboxRow<TData>>(select, [options.batchSize]);
      if (rows.length === 0) return 0;
      await Promise.all(rows.map((r) => options.producer.publish(options.topic, definitionOf(r.type), r.data, { key: r.key, id: r.eventId, time: r.createdAt })));
      await tx.query(markPublished, [rows.map((r) => r.id)]);
      return rows.length;
    });
  }

  async function run(): Promise<void> {
    while (running) {
      let published = 0;
      try {
        published = await publishOnce();
      } catch (err) {
        options.log.warn({ err, table: options.table }, 'outbox relay round failed; retrying');
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
