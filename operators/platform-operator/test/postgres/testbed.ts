/**
 * A failover test bed on this machine, shared by the integration tests and
 * `bench/failover.ts`: N local PostgreSQL instances (a primary and streaming
 * replicas) on their own non-loopback addresses (10.213.x.y added to `lo`,
 * since EndpointSlices reject loopback addresses; needs root), a client that
 * writes continuously through the `<name>-rw` EndpointSlice, and a TCP proxy
 * that can be cut to make an instance unreachable from the operator only.
 * Everything it creates is removed by `destroy()`.
 */
import { execFile } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { DiscoveryV1Api, type KubeConfig } from '@kubernetes/client-node';
import pg from 'pg';
import { LocalInstance } from './local-driver.ts';
import type { Endpoint } from '../../src/postgres/sql.ts';

const exec = promisify(execFile);

export class Testbed {
  readonly instances: LocalInstance[];
  readonly baseDir: string;
  readonly password: string;
  readonly #addresses: string[];

  private constructor(instances: LocalInstance[], baseDir: string, password: string, addresses: string[]) {
    this.instances = instances;
    this.baseDir = baseDir;
    this.password = password;
    this.#addresses = addresses;
  }

  /** Creates `count` instances named `<prefix>-0..`: 0 is initdb'd as primary, the rest are pg_basebackup replicas. */
  static async create(prefix: string, count: number): Promise<Testbed> {
    const baseDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bulwark-pgc-'));
    fs.chmodSync(baseDir, 0o755);
    const password = randomBytes(12).toString('base64url');
    const octet = randomInt(1, 250);
    const addresses = Array.from({ length: count }, (_, i) => `10.213.${octet}.${i + 1}`);
    const bed = new Testbed([], baseDir, password, []);
    try {
      for (const address of addresses) {
        await exec('ip', ['addr', 'add', `${address}/32`, 'dev', 'lo']);
        bed.#addresses.push(address);
      }
      addresses.forEach((host, i) => bed.instances.push(new LocalInstance({ name: `${prefix}-${i}`, host, port: 5432, baseDir, password })));
      const [primary, ...replicas] = bed.instances;
      if (!primary) throw new Error('count must be >= 1');
      await primary.initPrimary();
      await primary.start();
      for (const replica of replicas) {
        await replica.initReplica(primary.endpoint);
        await replica.start();
      }
    } catch (error) {
      await bed.destroy();
      throw error;
    }
    return bed;
  }

  instance(name: string): LocalInstance {
    const found = this.instances.find((i) => i.name === name);
    if (!found) throw new Error(`no instance ${name}`);
    return found;
  }

  async destroy(): Promise<void> {
    for (const instance of this.instances) {
      instance.kill('SIGKILL');
      await instance.waitGone(10_000).catch(() => undefined);
    }
    for (const address of this.#addresses) await exec('ip', ['addr', 'del', `${address}/32`, 'dev', 'lo']).catch(() => undefined);
    fs.rmSync(this.baseDir, { recursive: true, force: true });
  }
}

/** Runs one statement on `ep` (a fresh connection). */
export async function query<R extends pg.QueryResultRow = pg.QueryResultRow>(ep: Endpoint, text: string, values: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ ...ep, database: ep.database ?? 'postgres', connectionTimeoutMillis: 5000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The address in the `<service>` EndpointSlice (first ready endpoint), as a client would resolve it. */
export async function resolveService(kc: KubeConfig, namespace: string, service: string): Promise<{ host: string; port: number } | undefined> {
  const slices = await kc.makeApiClient(DiscoveryV1Api).listNamespacedEndpointSlice({ namespace, labelSelector: `kubernetes.io/service-name=${service}` });
  for (const slice of slices.items) {
    const endpoint = (slice.endpoints ?? []).find((e) => e.conditions?.ready !== false && e.addresses[0]);
    const port = slice.ports?.[0]?.port;
    if (endpoint?.addresses[0] && port) return { host: endpoint.addresses[0], port };
  }
  return undefined;
}

/**
 * Inserts increasing ids into `writes` one at a time. An id counts as
 * acknowledged only when its INSERT (autocommit) returned. On any error the
 * connection is dropped and the address resolved again (`resolve`), so the
 * writer follows the -rw endpoint through a failover.
 */
export class ContinuousWriter {
  readonly acked: number[] = [];
  readonly errors: string[] = [];
  /** Wall-clock ms of each acknowledgement, parallel to `acked`. */
  readonly ackedAt: number[] = [];
  readonly #resolve: () => Promise<{ host: string; port: number } | undefined>;
  readonly #credentials: { user: string; password: string };
  #running = false;
  #loop: Promise<void> | undefined;
  #next = 1;

  constructor(resolve: () => Promise<{ host: string; port: number } | undefined>, credentials: { user: string; password: string }) {
    this.#resolve = resolve;
    this.#credentials = credentials;
  }

  start(): void {
    this.#running = true;
    this.#loop = this.#run();
  }

  async stop(): Promise<void> {
    this.#running = false;
    await this.#loop;
  }

  /** Wall-clock ms of each error, parallel to `errors`. */
  readonly errorsAt: number[] = [];
  /** When the connection that carried each acknowledgement was opened, parallel to `acked`. */
  readonly ackedOnConnectionFrom: number[] = [];

  /**
   * End of the outage that began at `ms`: the first acknowledgement on a
   * connection opened at or after `ms`. Answers on the connection that was
   * open when the primary died (in flight, or from its orphaned backend) do
   * not count as recovery. undefined while still out.
   */
  firstAckAfter(ms: number): number | undefined {
    const index = this.ackedOnConnectionFrom.findIndex((t) => t >= ms);
    return index < 0 ? undefined : this.ackedAt[index];
  }

  async #run(): Promise<void> {
    let client: pg.Client | undefined;
    let connectedAt = 0;
    while (this.#running) {
      try {
        if (!client) {
          const address = await this.#resolve();
          if (!address) throw new Error('no -rw endpoint');
          const fresh = new pg.Client({ ...address, ...this.#credentials, database: 'postgres', connectionTimeoutMillis: 1000, query_timeout: 2000 });
          fresh.on('error', () => undefined);
          client = fresh;
          connectedAt = Date.now();
          await fresh.connect();
        }
        const id = this.#next++;
        await client.query('insert into writes (id) values ($1)', [id]);
        this.acked.push(id);
        this.ackedAt.push(Date.now());
        this.ackedOnConnectionFrom.push(connectedAt);
      } catch (error) {
        if (this.errors.length < 10_000) {
          this.errors.push(error instanceof Error ? error.message : String(error));
          this.errorsAt.push(Date.now());
        }
        void client?.end().catch(() => undefined);
        client = undefined;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    await client?.end().catch(() => undefined);
  }
}

/**
 * A TCP proxy in front of an instance for the operator's SQL only. `cut()`
 * drops open connections and black-holes new ones (accepted, never
 * answered): the instance looks dead to the operator while clients that
 * connect directly still reach it.
 */
export class CuttableProxy {
  readonly #server: net.Server;
  readonly #sockets = new Set<net.Socket>();
  #cut = false;

  constructor(target: { host: string; port: number }) {
    this.#server = net.createServer((socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
      socket.on('error', () => undefined);
      if (this.#cut) return; // black hole
      const upstream = net.connect(target);
      this.#sockets.add(upstream);
      upstream.on('close', () => this.#sockets.delete(upstream));
      upstream.on('error', () => socket.destroy());
      socket.on('close', () => upstream.destroy());
      upstream.on('close', () => socket.destroy());
      socket.pipe(upstream).pipe(socket);
    });
  }

  async listen(): Promise<{ host: string; port: number }> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    return { host: '127.0.0.1', port: (this.#server.address() as net.AddressInfo).port };
  }

  cut(): void {
    this.#cut = true;
    for (const s of this.#sockets) s.destroy();
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
