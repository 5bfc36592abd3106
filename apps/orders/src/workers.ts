/**
 * The service's background workers: one projector per projection and the
 * CDC relay, with their metrics (projection lag, slot lag) and status.
 */
import { Gauge, type Registry } from 'prom-client';
import type { DbLogger, DbPool } from '@bulwark/db';
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

export const PROJECTIONS: readonly Projection[] = [orderSummaries, orderStatusCounts];

export interface WorkersOptions {
  pool: DbPool;
  log: DbLogger;
  registry: Registry;
  projector: { enabled: boolean; batchSize: number; pollIntervalMs: number };
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
  projectionStatus(): Promise<{ name: string; position: string; lagEvents: number; running: boolean }[]>;
  rebuild(name: string): Promise<{ projection: string; events: number; position: string }>;
  relayStatus(): Promise<{ enabled: boolean; streaming: boolean; slot: string; active: boolean | null; lagBytes: number | null }>;
  /** Applies every projection up to the visible end of the log (tests, CLI). */
  catchUp(): Promise<void>;
}

export function createWorkers(options: WorkersOptions): Workers {
  const { pool, log } = options;
  const projectors = PROJECTIONS.map((projection) =>
    createProjector({ pool, projection, log, batchSize: options.projector.batchSize, pollIntervalMs: options.projector.pollIntervalMs }),
  );
  const relay = options.relay && createCdcRelay({ ...options.relay, log, registry: options.registry });
  const saga = options.saga && createSagaRunner({ ...options.saga, pool, log, registry: options.registry });

  const projectionStatus = async () =>
    Promise.all(
      PROJECTIONS.map(async (p, i) => {
        const position = await readCheckpoint(pool, p.name);
        return { name: p.name, position: formatPosition(position), lagEvents: await countEventsAfter(pool, position), running: projectors[i]?.running ?? false };
      }),
    );

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
        const status = await slotStatus(pool, slot).catch(() => undefined);
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
    async rebuild(name) {
      const projection = PROJECTIONS.find((p) => p.name === name);
      if (!projection) throw new Error(`no projection ${name}`);
      const result = await rebuildProjection({ pool, projection, log });
      return { ...result, position: formatPosition(result.position) };
    },
    async relayStatus() {
      const slot = options.relay?.slot ?? '';
      const status = relay ? await slotStatus(pool, slot) : undefined;
      return { enabled: relay !== undefined, streaming: relay?.streaming ?? false, slot, active: status?.active ?? null, lagBytes: status?.lagBytes ?? null };
    },
    async catchUp() {
      for (const p of projectors) await p.catchUp();
    },
  };
}
