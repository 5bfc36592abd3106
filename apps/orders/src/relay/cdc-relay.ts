/**
 * The CDC relay: streams the event table's inserts from a pgoutput logical
 * replication slot and publishes each event to Kafka through the events
 * package's idempotent producer (CloudEvents id = the stored event id, key =
 * the order id). The slot position (LSN) is acknowledged only after Kafka has
 * confirmed every event of a transaction and of all transactions before it,
 * so a crash at any point loses nothing: PostgreSQL redelivers from the last
 * acknowledged commit, and consumers drop the duplicates by event id (the
 * processed-event store). Only one relay can stream from a slot at a time;
 * a second replica keeps retrying and takes over when the first goes away.
 *
 * A position is confirmed only through `confirmExactly` (lsn.ts): the slot
 * must record exactly the position the relay means, never one byte more, or a
 * COMMIT that starts there is skipped after a restart. An event of a type
 * this build does not know (a newer version wrote it) is held, not skipped:
 * its transaction fails, the stream restarts from the slot and retries until
 * a relay that knows the type takes over. An event whose data fails its
 * topic schema (written around the domain, or a drifted schema) would hold
 * the slot forever the same way; with `park` it is recorded as a dead letter
 * before its transaction counts as done, and the relay goes on.
 */
import { LogicalReplicationService, PgoutputPlugin } from 'pg-logical-replication';
import type { Registry } from 'prom-client';
import type { DbLogger } from '@bulwark/db';
import { isAppError } from '@bulwark/errors';
import { backoffCeiling } from '@bulwark/service-kit/backoff';
import type { EventProducer } from '@bulwark/events';
import { isOrderEventType, KAFKA_EVENTS } from '../domain/events.ts';
import { confirmExactly, ZERO_LSN } from './lsn.ts';

/** Wait before restarting the stream: 100 ms doubling per consecutive failure, at most 5 s. */
const RESTART_BACKOFF = { baseMs: 100, capMs: 5_000 };

export interface CdcRelayOptions {
  /** PostgreSQL URL of a role allowed to replicate. */
  connectionString: string;
  /** Schema of the event table. */
  schema: string;
  slot: string;
  publication: string;
  producer: EventProducer;
  topic: string;
  log: DbLogger;
  registry?: Registry;
  /** Test seam: runs after Kafka confirmed a transaction and before its LSN is acknowledged. */
  beforeAcknowledge?: (lsn: string) => Promise<void>;
  /**
   * Confirmed positions are sent to PostgreSQL at most this often (default 50 ms); the
   * latest one wins. One status message per commit was a socket write per event at load.
   */
  ackIntervalMs?: number;
  /**
   * Records an event whose data the topic's schema refuses (EVENTS_INVALID_DATA /
   * EVENTS_INVALID_ENVELOPE) as a dead letter; the transaction is confirmed once
   * this resolves. Without it such an event holds the slot, like an unknown type.
   */
  park?: (event: { eventId: string; streamId: string; version: number; type: string; tenantId: string | null }, err: Error & { code?: string }) => Promise<void>;
}

/** The stored form of an event the relay publishes (a row of the `events` table). */
export interface RelayedEvent {
  eventId: string;
  streamId: string;
  version: number;
  type: string;
  data: Record<string, unknown>;
  recordedAt: Date;
  /** The order's tenant (the row's tenant_id); published as data.tenantId so consumers act per tenant. */
  tenantId?: string | null;
}

const PARKABLE = new Set(['EVENTS_INVALID_DATA', 'EVENTS_INVALID_ENVELOPE']);

export interface CdcRelay {
  /** Connects and starts streaming; retries in the background on failure. */
  start(): void;
  /** Stops streaming; unacknowledged events stay in the slot for the next relay. */
  stop(): Promise<void>;
  /** True while a replication stream is open. */
  readonly streaming: boolean;
  /** Events confirmed by Kafka since start (duplicates of a redelivery included). */
  readonly published: number;
  /** Events received from the slot since start, confirmed or not. */
  readonly received: number;
  /** Publishes one stored event as the stream does (republishing a parked one). */
  publish(event: RelayedEvent): Promise<void>;
}

interface RowEvent {
  event_id: string;
  stream_id: string;
  version: number;
  type: string;
  data: Record<string, unknown>;
  recorded_at: Date;
  tenant_id: string | null;
}

export function createCdcRelay(options: CdcRelayOptions): CdcRelay {
  const { log, producer, topic } = options;
  const ackIntervalMs = options.ackIntervalMs ?? 50;
  let stopped = true;
  let service: LogicalReplicationService | undefined;
  let streaming = false;
  let published = 0;
  let received = 0;
  let retryTimer: NodeJS.Timeout | undefined;
  let pingTimer: NodeJS.Timeout | undefined;
  let failures = 0;
  let generation = 0;
  let sendPendingAck: (() => Promise<void>) | undefined;

  function publish(e: RelayedEvent): Promise<void> {
    if (!isOrderEventType(e.type)) {
      return Promise.reject(new Error(`event ${e.eventId} has type ${JSON.stringify(e.type)}, unknown to this relay; holding the slot until a relay that knows it takes over`));
    }
    return producer.publish(topic, KAFKA_EVENTS[e.type], { ...e.data, orderId: e.streamId, version: e.version, ...(e.tenantId ? { tenantId: e.tenantId } : {}) }, { key: e.streamId, id: e.eventId, time: e.recordedAt }).then(() => undefined);
  }

  function scheduleRestart(reason: unknown): void {
    if (stopped) return;
    const current = service;
    service = undefined;
    streaming = false;
    generation++;
    void current?.destroy().catch(() => undefined);
    failures++;
    const delay = backoffCeiling(failures + 1, RESTART_BACKOFF);
    log.warn({ err: reason, delayMs: delay, slot: options.slot }, 'cdc relay stream ended; restarting from the slot');
    clearTimeout(retryTimer);
    retryTimer = setTimeout(connect, delay);
  }

  function connect(): void {
    if (stopped) return;
    const gen = ++generation;
    // A new service per stream: it must start from the slot's confirmed LSN, never from what it last received.
    const svc = new LogicalReplicationService({ connectionString: options.connectionString }, { acknowledge: { auto: false, timeoutSeconds: 0 } });
    service = svc;
    let txPublishes: Promise<unknown>[] | undefined;
    let chain: Promise<void> = Promise.resolve();
    let inFlight = 0;
    let confirmed = ZERO_LSN;

    const ack = (lsn: string, ping = false): void => {
      if (gen === generation) void confirmExactly(svc, lsn, ping).catch(() => undefined);
    };
    // Kafka-confirmed commits: `confirmed` moves at once, the status message follows within ackIntervalMs.
    let ackTimer: NodeJS.Timeout | undefined;
    const ackSoon = (): void => {
      ackTimer ??= setTimeout(() => {
        ackTimer = undefined;
        ack(confirmed);
      }, ackIntervalMs);
      ackTimer.unref();
    };
    // A graceful stop confirms what Kafka has, so the next relay does not redeliver it.
    sendPendingAck = async () => {
      if (!ackTimer || gen !== generation) return;
      clearTimeout(ackTimer);
      ackTimer = undefined;
      await confirmExactly(svc, confirmed).catch(() => undefined);
    };

    svc.on('start', () => {
      streaming = true;
      failures = 0;
      log.info({ slot: options.slot }, 'cdc relay streaming');
    });
    svc.on('error', (err) => {
      if (gen === generation) scheduleRestart(err);
    });
    svc.on('heartbeat', (lsn) => {
      // Nothing received is waiting for Kafka: the server's position is safe to confirm (keeps the slot lag near 0 when idle).
      if (inFlight === 0 && !txPublishes) {
        confirmed = lsn;
        ack(lsn);
      }
    });
    svc.on('data', (_lsn: string, msg: { tag: string; relation?: { schema: string; name: string }; new?: RowEvent; commitEndLsn?: string | null }) => {
      if (msg.tag === 'begin') {
        txPublishes = [];
      } else if (msg.tag === 'insert' && msg.relation?.schema === options.schema && msg.relation.name === 'events' && msg.new) {
        const row = msg.new;
        received++;
        const event: RelayedEvent = { eventId: row.event_id, streamId: row.stream_id, version: row.version, type: row.type, data: row.data, recordedAt: row.recorded_at, tenantId: row.tenant_id };
        const park = options.park;
        const publishing = publish(event).catch((err: unknown) => {
          if (!park || !isAppError(err) || !PARKABLE.has(err.code)) throw err;
          log.error({ err, eventId: event.eventId, streamId: event.streamId, type: event.type }, 'cdc relay parked an event its topic schema refuses');
          return park({ eventId: event.eventId, streamId: event.streamId, version: event.version, type: event.type, tenantId: row.tenant_id ?? null }, err);
        });
        // Awaited by the commit's link of the chain; a link that never runs (earlier failure, stop) must not leave an unhandled rejection.
        publishing.catch(() => undefined);
        (txPublishes ??= []).push(publishing);
      } else if (msg.tag === 'commit') {
        const publishes = txPublishes ?? [];
        txPublishes = undefined;
        const lsn = msg.commitEndLsn ?? ZERO_LSN;
        inFlight++;
        chain = chain.then(async () => {
          await Promise.all(publishes);
          if (gen !== generation) return;
          await options.beforeAcknowledge?.(lsn);
          published += publishes.length;
          inFlight--;
          confirmed = lsn;
          ackSoon();
        });
        chain.catch((err: unknown) => {
          if (gen === generation) scheduleRestart(err);
        });
      }
    });

    clearInterval(pingTimer);
    // Ask the server for a keepalive now and then, so an idle relay keeps confirming the WAL position.
    // Before anything is confirmed there is no position to send: the server's own first keepalive comes unasked.
    pingTimer = setInterval(() => {
      if (streaming && inFlight === 0 && !txPublishes && confirmed !== ZERO_LSN) ack(confirmed, true);
    }, 1_000);
    pingTimer.unref();

    svc.subscribe(new PgoutputPlugin({ protoVersion: 1, publicationNames: [options.publication] }), options.slot, ZERO_LSN).then(
      () => {
        if (gen === generation && !stopped) scheduleRestart(new Error('replication stream closed'));
      },
      (err: unknown) => {
        if (gen === generation) scheduleRestart(err);
      },
    );
  }

  return {
    get streaming() {
      return streaming;
    },
    get published() {
      return published;
    },
    get received() {
      return received;
    },
    publish,
    start() {
      if (!stopped) return;
      stopped = false;
      connect();
    },
    async stop() {
      stopped = true;
      await sendPendingAck?.();
      generation++;
      clearTimeout(retryTimer);
      clearInterval(pingTimer);
      const current = service;
      service = undefined;
      streaming = false;
      await current?.destroy().catch(() => undefined);
    },
  };
}
