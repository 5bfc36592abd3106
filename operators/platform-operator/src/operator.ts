/**
 * The operator process as one startable, stoppable object: an HTTP server for
 * `/healthz` `/readyz` `/metrics`, every controller's informer, and a leader
 * elector whose terms switch the controllers' reconciling on and off.
 * Stop order is the reverse of start: elector (release the Lease so a standby
 * takes over at once), controllers (queues drain in-flight work, informers
 * close), then the server.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CoordinationV1Api, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import type { Controller } from './controller.ts';
import { type LeaderElectionTimings, LeaderElector } from './leader.ts';
import { defaultLogger, type Logger } from './log.ts';
import type { Registry } from '@bulwark/service-kit/metrics';

export interface OperatorOptions {
  kc: KubeConfig;
  /** Unique per replica (the Pod name). */
  identity: string;
  /** Namespace of the leader Lease. */
  namespace: string;
  leaseName: string;
  timings?: Partial<LeaderElectionTimings>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- controllers of different kinds share this list
  controllers: Array<Controller<any>>;
  registry: Registry;
  port?: number;
  host?: string;
  log?: Logger;
}

export class Operator {
  readonly elector: LeaderElector;
  readonly #o: OperatorOptions;
  readonly #log: Logger;
  #server: Server | undefined;
  #synced = false;

  constructor(options: OperatorOptions) {
    this.#o = options;
    this.#log = options.log ?? defaultLogger();
    const controllers = options.controllers as Array<Controller<KubernetesObject>>;
    this.elector = new LeaderElector({
      api: options.kc.makeApiClient(CoordinationV1Api),
      namespace: options.namespace,
      leaseName: options.leaseName,
      identity: options.identity,
      ...options.timings,
      registry: options.registry,
      log: this.#log,
      onStartedLeading: () => {
        const term = { confirm: () => this.elector.confirm() };
        for (const c of controllers) c.startLeading(term);
      },
      onStoppedLeading: async () => {
        await Promise.all(controllers.map((c) => c.stopLeading()));
      },
    });
  }

  /** Listens, syncs informers, then campaigns. Returns the bound address. */
  async start(): Promise<{ url: string; port: number }> {
    const server = createServer((req, res) => void this.#handle(req.url ?? '/', res));
    this.#server = server;
    await new Promise<void>((resolve) => server.listen(this.#o.port ?? 8080, this.#o.host ?? '0.0.0.0', resolve));
    const { port } = server.address() as AddressInfo;
    await Promise.all(this.#o.controllers.map((c) => c.startInformer()));
    this.#synced = true;
    this.elector.start();
    this.#log.info({ port, identity: this.#o.identity }, 'operator started');
    return { url: `http://127.0.0.1:${port}`, port };
  }

  async stop(): Promise<void> {
    this.#synced = false;
    await this.elector.stop();
    await Promise.all(this.#o.controllers.map((c) => c.stop()));
    const server = this.#server;
    this.#server = undefined;
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    this.#log.info({ identity: this.#o.identity }, 'operator stopped');
  }

  async #handle(url: string, res: import('node:http').ServerResponse): Promise<void> {
    const path = url.split('?')[0];
    if (path === '/healthz') {
      return send(res, 200, 'application/json', JSON.stringify({ status: 'ok', leader: this.elector.isLeader }));
    }
    if (path === '/readyz') {
      return send(res, this.#synced ? 200 : 503, 'application/json', JSON.stringify({ ready: this.#synced }));
    }
    if (path === '/metrics') {
      return send(res, 200, this.#o.registry.contentType, await this.#o.registry.metrics());
    }
    send(res, 404, 'application/json', JSON.stringify({ error: 'not found' }));
  }
}

function send(res: import('node:http').ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
