/**
 * The service's background workers: one projector per projection and the
 * CDC relay, with their metrics (projection lag and parked events, slot lag),
 * status, and the projections' readiness check. Each of them reads or writes
 * every tenant's rows, so each runs in an audited system context
 * (withSystemContext, one reason per path); the operator routes served from
 * here (status, parked events, republish, rebuild) too.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { withSystemContext, type DbLogger, type DbPool } from '@bulwark/db';
import type { EventProducer } from '@bulwark/events';
import { orderStatusCounts } from './projections/order-status-counts.ts';
import { orderSummaries } from './projections/order-summaries.ts';
import type { Projection } from './projections/projection.ts';
import { createProjector, readCheckpoint, type Projector } from './projections/projector.ts';
import { rebuildProjection } from './projections/rebuild.ts';
import { createCdcRelay, type CdcRelay, type CdcRelayOptions } from './relay/cdc-relay.ts';
import { createSagaRunner, type SagaRunner, type SagaRunnerOptions } from './saga/saga-runner.ts';
import { slotStatus } from './relay/replication-setup.ts';
import { countEventsAfter, formatPosition } from './store/global-log.ts';
import { countParkedEvents, listParkedEvents, type ParkedEvent } from './store/parked-events.ts';
import { listRelayParked, loadParkedEvents, markRepublished, parkRelayEvent, recordRepublishFailure, type RelayParkedEvent } from './store/relay-parked-events.ts';

export const PROJECTIONS: readonly Projection[] = [orderSummaries, orderStatusCounts];

export interface WorkersOptions {
  /** The runtime pool (row-level security applies). */
  pool: DbPool;
  /** The tables' owner: rebuilds create and swap tables; the slot's status is read here. */
  ownerPool: DbPool;
  log: DbLogger;
  registry: Registry;
  projector: {
    enabled: boolean;
    batchSize: number;
    pollIntervalMs: number;
    /** Readiness fails while a projection is more than this many events behind (0 = never). */
    maxLagEvents: number;
    /** Readiness fails when a projector of this process has failed every batch for this long (0 = never). */
    stuckAfterMs: number;
  };
  /** Relay settings, or undefined when this process runs no relay. */
  relay?: Omit<CdcRelayOptions, 'log' | 'registry' | 'producer'> & { producer: EventProducer };
  /** Checkout saga runner settings, or undefined when this process runs none. */
  saga?: Omit<SagaRunnerOptions, 'pool' | 'log' | 'registry'>;
}

export interface Workers {
  readonly projectors: readonly Projector[];
  readonly relay: CdcRelay | undefined;
  readonly saga: SagaRunner | undefined;
  start(): void;
  stop(): Promise<void>;
  hasProjection(name: string): boolean;
  projectionStatus(): Promise<ProjectionStatus[]>;
  /** Replays the projection into fresh tables and swaps them in; reports the events it had to park. */
  rebuild(name: string): Promise<{ projection: string; events: number; position: string; parked: number; parkedEvents: ParkedEvent[] }>;
  /** The first `limit` parked events of a projection, in log order. */
  parkedEvents(name: string, limit: number): Promise<ParkedEvent[]>;
  /** Readiness: throws naming each projection that is stuck or lags past the threshold. */
  checkProjections(): Promise<void>;
  relayStatus(): Promise<{ enabled: boolean; streaming: boolean; slot: string; active: boolean | null; lagBytes: number | null }>;
  /** Events the relay parked (their data fails the topic schema), oldest first. */
  relayParked(limit: number): Promise<RelayParkedEvent[]>;
  /** Publishes the parked events not yet republished, from the event log; reports which went out and which still fail. */
  republishRelayParked(limit: number): Promise<{ republished: string[]; failed: { eventId: string; error: string }[] }>;
  /** Applies every projection up to the visible end of the log (tests, CLI). */
  catchUp(): Promise<void>;
}

export interface ProjectionStatus {
  name: string;
  position: string;
  lagEvents: number;
  running: boolean;
  /** Events parked by this projection (not in its read model). */
  parked: number;
  /** When this process's projector started failing every batch (ISO), null when it is not. */
  failingSince: string | null;
}

/** Events listed in a rebuild's answer (the total is always given). */
const REBUILD_REPORT_LIMIT = 100;

export function createWorkers(options: WorkersOptions): Workers {
  const { pool, ownerPool, log } = options;
  const system = <T>(reason: string, fn: () => Promise<T>): Promise<T> => withSystemContext(pool, reason, fn);
  const parkedTotal = new Counter({
    name: 'orders_projection_parked_events_total',
    help: 'Events a projection could not apply and parked (projection_parked_events); the read model lacks them until a rebuild applies them.',
    labelNames: ['projection'],
    registers: [options.registry],
  });
  const onParked = (p: { event: ParkedEvent; isNew: boolean }): void => {
    if (p.isNew) parkedTotal.inc({ projection: p.event.projection });
  };
  const projectors = PROJECTIONS.map((projection) => {
    parkedTotal.inc({ projection: projection.name }, 0);
    return createProjector({ pool, projection, log, batchSize: options.projector.batchSize, pollIntervalMs: options.projector.pollIntervalMs, onParked });
  });
  const relayParkedTotal = new Counter({
    name: 'orders_relay_parked_events_total',
    help: 'Committed events the CDC relay could not publish (their data fails the topic schema) and parked in relay_parked_events; Kafka lacks them until republished.',
    registers: [options.registry],
  });
  relayParkedTotal.inc(0);
  const relay =
    options.relay &&
    createCdcRelay({
      ...options.relay,
      log,
      registry: options.registry,
      park: async (event, err) => {
        if (await system('orders.relay-park', () => parkRelayEvent(pool, { ...event, errorCode: err.code ?? null, error: err.message }))) relayParkedTotal.inc();
      },
    });
  const saga = options.saga && createSagaRunner({ ...options.saga, pool, log, registry: options.registry });

  const projectionStatus = (): Promise<ProjectionStatus[]> => system('orders.projection-status', async () => {
    const parked = await countParkedEvents(pool);
    return Promise.all(
      PROJECTIONS.map(async (p, i) => {
        const position = await readCheckpoint(pool, p.name);
        const failingSince = projectors[i]?.failingSince;
        return {
          name: p.name,
          position: formatPosition(position),
          lagEvents: await countEventsAfter(pool, position),
          running: projectors[i]?.running ?? false,
          parked: parked.get(p.name) ?? 0,
          failingSince: failingSince === undefined ? null : new Date(failingSince).toISOString(),
        };
      }),
    );
  });

  async function checkProjections(): Promise<void> {
    const { maxLagEvents, stuckAfterMs } = options.projector;
    const problems: string[] = [];
    await Promise.all(
      PROJECTIONS.map(async (p, i) => {
        const projector = projectors[i];
        const since = projector?.running ? projector.failingSince : undefined;
        if (stuckAfterMs > 0 && since !== undefined && Date.now() - since >= stuckAfterMs) problems.push(`${p.name} has failed every batch for ${Date.now() - since} ms`);
        if (maxLagEvents > 0) {
          // Counting stops past the threshold: the probe costs at most maxLagEvents index entries.
          const lag = await system('orders.projection-readiness', async () => countEventsAfter(pool, await readCheckpoint(pool, p.name), maxLagEvents + 1));
          if (lag > maxLagEvents) problems.push(`${p.name} is more than ${maxLagEvents} events behind`);
        }
      }),
    );
    if (problems.length > 0) throw new Error(`projections: ${problems.join('; ')}`);
  }

  new Gauge({
    name: 'orders_projection_lag_events',
    help: 'Events in the global log after the projection checkpoint (not yet in the read model).',
    labelNames: ['projection'],
    registers: [options.registry],
    async collect() {
      for (const s of await projectionStatus().catch(() => [])) this.set({ projection: s.name }, s.lagEvents);
    },
  });
  if (relay) {
    const slot = options.relay!.slot;
    new Gauge({
      name: 'orders_relay_slot_lag_bytes',
      help: 'WAL bytes between pg_current_wal_lsn() and the relay slot confirmed_flush_lsn (events not yet confirmed by Kafka, plus idle WAL).',
      registers: [options.registry],
      async collect() {
        const status = await slotStatus(ownerPool, slot).catch(() => undefined);
        if (status) this.set(status.lagBytes);
      },
    });
  }

  return {
    projectors,
    relay,
    saga,
    start() {
      if (options.projector.enabled) for (const p of projectors) p.start();
      relay?.start();
      saga?.start();
    },
    async stop() {
      await saga?.stop();
      await relay?.stop();
      await Promise.all(projectors.map((p) => p.stop()));
    },
    hasProjection: (name) => PROJECTIONS.some((p) => p.name === name),
    projectionStatus,
    checkProjections,
    async rebuild(name) {
      const projection = PROJECTIONS.find((p) => p.name === name);
      if (!projection) throw new Error(`no projection ${name}`);
      const result = await rebuildProjection({ pool: ownerPool, projection, log, onParked });
      return { ...result, position: formatPosition(result.position), parked: result.parked.length, parkedEvents: result.parked.slice(0, REBUILD_REPORT_LIMIT) };
    },
    parkedEvents: (name, limit) => system('orders.projection-parked', () => listParkedEvents(pool, name, limit)),
    async relayStatus() {
      const slot = options.relay?.slot ?? '';
      const status = relay ? await slotStatus(ownerPool, slot) : undefined;
      return { enabled: relay !== undefined, streaming: relay?.streaming ?? false, slot, active: status?.active ?? null, lagBytes: status?.lagBytes ?? null };
    },
    relayParked: (limit) => system('orders.relay-parked', () => listRelayParked(pool, limit)),
    republishRelayParked: (limit) => system('orders.relay-republish', async () => {
      const republished: string[] = [];
      const failed: { eventId: string; error: string }[] = [];
      if (!relay) return { republished, failed };
      const waiting = await listRelayParked(pool, limit, true);
      for (const event of await loadParkedEvents(pool, waiting.map((w) => w.eventId))) {
        try {
          await relay.publish({ eventId: event.eventId, streamId: event.streamId, version: event.version, type: event.type, data: event.data as Record<string, unknown>, recordedAt: event.recordedAt });
          await markRepublished(pool, event.eventId);
          republished.push(event.eventId);
        } catch (err) {
          const e = err as Error & { code?: string };
          await recordRepublishFailure(pool, event.eventId, e.code ?? null, e.message);
          failed.push({ eventId: event.eventId, error: e.message });
        }
      }
      return { republished, failed };
    }),
    async catchUp() {
      for (const p of projectors) await p.catchUp();
    },
  };
}
