/**
 * Keeps every open snapshot stream of this replica current. A change made
 * here refreshes its tenant at once (`changed`); changes made on another
 * replica are found by a backstop poll of the tenants' latest revisions
 * (one indexed query per round for all tenants with streams), so a change
 * reaches every stream within CHANGE_POLL_MS plus one snapshot build. A
 * snapshot is built once per tenant and environment and the same bytes go to
 * every stream; a stream gets it only if its revision is behind.
 */
import { withSystemContext, withTenant, type DbPool } from '@bulwark/db';
import type { Snapshot } from '@bulwark/openfeature-provider/evaluation';
import type { Logger } from '@bulwark/service-kit/logging';
import type { FlagsMetrics } from '../metrics.ts';
import { latestRevision, latestRevisions } from '../store/flag-store.ts';
import { buildSnapshot } from './snapshots.ts';

export interface Stream {
  environment: string;
  /** The revision this stream has (its Last-Event-ID at first). */
  revision: number;
  send(frame: string): void;
  end(): void;
}

interface Built {
  snapshot: Snapshot;
  frame: string;
}

export class SnapshotHub {
  private readonly streams = new Map<string, Set<Stream>>();
  private readonly cache = new Map<string, Built>();
  private readonly refreshing = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();
  private readonly timer: NodeJS.Timeout;
  private readonly pool: DbPool;
  private readonly log: Logger;
  private readonly metrics: FlagsMetrics;

  constructor(options: { pool: DbPool; pollMs: number; log: Logger; metrics: FlagsMetrics }) {
    this.pool = options.pool;
    this.log = options.log;
    this.metrics = options.metrics;
    this.timer = setInterval(() => void this.poll().catch((err: unknown) => this.log.warn({ err }, 'flags revision poll failed')), options.pollMs);
    this.timer.unref();
  }

  /** The tenant's snapshot of an environment, rebuilt when its revision moved (call in the tenant's context). */
  async current(tenant: string, environment: string): Promise<Built> {
    const cached = this.cache.get(`${tenant}\u0000${environment}`);
    if (cached && cached.snapshot.revision === (await latestRevision(this.pool))) return cached;
    return this.build(tenant, environment);
  }

  /** Registers a stream and sends it the snapshot when it is behind; returns its removal. */
  async subscribe(tenant: string, stream: Stream): Promise<() => void> {
    let set = this.streams.get(tenant);
    if (!set) this.streams.set(tenant, (set = new Set()));
    set.add(stream);
    this.metrics.streams.inc();
    const remove = () => {
      if (set.delete(stream)) this.metrics.streams.dec();
      if (set.size === 0 && this.streams.get(tenant) === set) this.streams.delete(tenant);
    };
    try {
      const { snapshot, frame } = await this.current(tenant, stream.environment);
      if (snapshot.revision > stream.revision || stream.revision === 0) this.push(stream, snapshot.revision, frame);
    } catch (err) {
      // PostgreSQL away: the stream is refused (the provider retries with backoff) and not left registered.
      remove();
      throw err;
    }
    return remove;
  }

  /** A change of the tenant committed (here): refresh its streams now. */
  changed(tenant: string): void {
    void this.refresh(tenant).catch((err: unknown) => this.log.warn({ err, tenant }, 'refreshing flag snapshots failed'));
  }

  /** Ends every stream (drain): providers reconnect to another replica. */
  endAll(): void {
    clearInterval(this.timer);
    for (const set of this.streams.values()) for (const stream of set) stream.end();
  }

  close(): void {
    clearInterval(this.timer);
  }

  private async poll(): Promise<void> {
    const tenants = [...this.streams.keys()];
    if (tenants.length === 0) return;
    const revisions = await withSystemContext(this.pool, 'flags.revision-poll', () => latestRevisions(this.pool, tenants));
    for (const [tenant, revision] of revisions) {
      const behind = [...(this.streams.get(tenant) ?? [])].some((s) => s.revision < revision);
      if (behind) this.changed(tenant);
    }
  }

  private async refresh(tenant: string): Promise<void> {
    // One refresh per tenant at a time; a change during it asks for one more.
    const running = this.refreshing.get(tenant);
    if (running) {
      this.again.add(tenant);
      return running;
    }
    const run = (async () => {
      do {
        this.again.delete(tenant);
        const environments = new Set([...(this.streams.get(tenant) ?? [])].map((s) => s.environment));
        for (const environment of environments) {
          const { snapshot, frame } = await this.build(tenant, environment);
          for (const stream of this.streams.get(tenant) ?? []) {
            if (stream.environment === environment && stream.revision < snapshot.revision) this.push(stream, snapshot.revision, frame);
          }
        }
      } while (this.again.has(tenant));
    })().finally(() => this.refreshing.delete(tenant));
    this.refreshing.set(tenant, run);
    return run;
  }

  private async build(tenant: string, environment: string): Promise<Built> {
    const snapshot = await withTenant(tenant, () => buildSnapshot(this.pool, tenant, environment));
    const built = { snapshot, frame: `id: ${snapshot.revision}\nevent: snapshot\ndata: ${JSON.stringify(snapshot)}\n\n` };
    const key = `${tenant}\u0000${environment}`;
    const cached = this.cache.get(key);
    if (!cached || cached.snapshot.revision <= snapshot.revision) this.cache.set(key, built);
    return built;
  }

  private push(stream: Stream, revision: number, frame: string): void {
    stream.revision = revision;
    stream.send(frame);
    this.metrics.pushes.inc();
  }
}
