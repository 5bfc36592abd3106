/**
 * Builds the edge cache without listening: the memory store, the origin
 * pool, the caching raw handler in front of Express (which keeps only the
 * kit's endpoints and the purge/warm API), and, with KAFKA_BROKERS, the
 * purge consumer; all registered as kit dependencies so that shutdown
 * drains requests before the origin pool closes. No database: the edge
 * holds nothing that must survive it.
 */
import type { DestinationStream } from 'pino';
import { createKafka } from '@bulwark/events';
import { createService, type Service, type StartedService } from '@bulwark/service-kit';
import { createTokenVerifier } from '@bulwark/service-kit/service-auth';
import { EdgeStore } from './cache/store.ts';
import type { EdgeConfig } from './config.ts';
import './errors.ts';
import { createPurgeConsumer, type PurgeConsumer } from './events/purge-consumer.ts';
import { registerRoutes } from './http/routes.ts';
import { createEdgeMetrics } from './metrics.ts';
import { createEdge } from './proxy/edge-handler.ts';
import { createOrigin } from './proxy/origin.ts';

export interface EdgeAppOptions {
  config: EdgeConfig;
  logDestination?: DestinationStream;
}

export interface EdgeApp {
  readonly service: Service<EdgeConfig>;
  readonly store: EdgeStore;
  /** Joins the purge consumer (in the background past a short wait). Idempotent. */
  prepare(): Promise<void>;
  /** prepare(), then listen. */
  start(): Promise<StartedService>;
}

/** How long start waits for the purge consumer to join before going ready without it. */
const PURGE_JOIN_WAIT_MS = 10_000;

export function createEdgeApp(options: EdgeAppOptions): EdgeApp {
  const { config } = options;
  let store!: EdgeStore;
  let purges: PurgeConsumer | undefined;
  let prepared = false;

  const service = createService({
    name: 'edge',
    version: '0.1.0',
    config,
    logDestination: options.logDestination,
    routes(r, kit) {
      const metrics = createEdgeMetrics(kit.metrics);
      store = new EdgeStore({ maxBytes: config.EDGE_CACHE_MAX_BYTES, onEvict: (reason) => metrics.evictions.inc({ reason }) });
      const origin = createOrigin({ url: config.ORIGIN_URL, connections: config.ORIGIN_CONNECTIONS, timeoutMs: config.ORIGIN_TIMEOUT_MS });
      kit.addDependency({ name: 'origin', check: async () => undefined, close: () => origin.close() });
      const edge = createEdge({ store, origin, metrics, maxObjectBytes: config.EDGE_MAX_OBJECT_BYTES, log: kit.log });
      kit.mountRawHandler(edge.handler);
      const verifier = config.JWKS_URL && config.JWT_ISSUER ? createTokenVerifier({ jwksUrl: config.JWKS_URL, issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE }) : undefined;
      if (!verifier) kit.log.warn('JWKS_URL or JWT_ISSUER is not set: the purge API answers 503');
      registerRoutes(r, { store, metrics, verifier, clients: config.PURGE_CLIENTS, warm: edge.warm });
      if (config.KAFKA_BROKERS && config.KAFKA_BROKERS.length > 0) {
        const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'edge' });
        const consumer = createPurgeConsumer({ kafka, topics: config.EDGE_PURGE_TOPICS, groupPrefix: config.EDGE_PURGE_GROUP_PREFIX, store, metrics, log: kit.log });
        purges = consumer;
        kit.addDependency({ name: 'kafka', check: async () => undefined, close: () => consumer.stop() });
      } else kit.log.warn('KAFKA_BROKERS is not set: purges by API only');
    },
  });

  async function prepare(): Promise<void> {
    if (prepared) return;
    await purges?.startInBackground(PURGE_JOIN_WAIT_MS);
    prepared = true;
  }

  return {
    service,
    get store() {
      return store;
    },
    prepare,
    async start() {
      await prepare();
      return service.start();
    },
  };
}
