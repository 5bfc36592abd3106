/**
 * One document held in memory on this instance: its Y.Doc (only what the
 * log holds), its awareness, the local connections, and the write queue.
 *
 * Acknowledged means stored: an update a client sends is appended to the
 * log before it is applied here (group commit: every update waiting is one
 * INSERT, committed; up to storeConcurrency such INSERTs of a document in
 * flight at once, so an update arriving while one commits does not wait for
 * that commit and then its own; each batch is applied once its own commit
 * returned, in whatever order they return: Yjs merges in any order), relayed to the other local clients or
 * published to other instances. So whatever any client has received, and
 * whatever a sync reply contains, is in PostgreSQL; SIGKILL loses only
 * updates nobody but their author has seen, and that author's client sends
 * them again when it reconnects (sync step 2).
 */
import * as Y from 'yjs';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as syncProtocol from 'y-protocols/sync';
import * as encoding from 'lib0/encoding';
import { withTenant, type DbPool } from '@bulwark/db';
import type { Logger } from '@bulwark/service-kit/logging';
import { isEmptyUpdate, mergeState } from '../domain/ystate.ts';
import { appendUpdates, compact, readState } from '../store/document-store.ts';
import { KIND, type Bus, type BusKind } from './bus.ts';
import type { CollabMetrics } from './metrics.ts';
import { MESSAGE } from './protocol.ts';

/** A connection as a room sees it. */
export interface Peer {
  send(message: Uint8Array): void;
  close(code: number, reason: string): void;
  /** Awareness client ids this connection announced (removed when it leaves). */
  readonly awarenessIds: Set<number>;
}

const LOADED = Symbol('loaded from the log');
/** How long awareness changes are gathered before they are relayed (cursors move at human speed). */
const AWARENESS_FLUSH_MS = 50;
const PEER = Symbol('from another instance');

export interface RoomDeps {
  pool: DbPool;
  bus: Bus;
  metrics: CollabMetrics;
  log: Logger;
  compactAfterUpdates: number;
  /** Batches of one document being stored at once (1: one after the other). */
  storeConcurrency: number;
}

export class Room {
  readonly doc = new Y.Doc();
  readonly awareness = new awarenessProtocol.Awareness(this.doc);
  readonly peers = new Set<Peer>();
  readonly ready: Promise<void>;
  private pending: { update: Uint8Array; from: Peer; at: number }[] = [];
  private readonly storing = new Set<Promise<void>>();
  private compacting: Promise<void> | undefined;
  private logged = 0;
  unloadTimer: NodeJS.Timeout | undefined;

  readonly tenant: string;
  readonly id: string;
  private readonly deps: RoomDeps;

  constructor(tenant: string, id: string, deps: RoomDeps) {
    this.tenant = tenant;
    this.id = id;
    this.deps = deps;
    this.awareness.setLocalState(null);
    this.doc.on('update', (update: Uint8Array, origin: unknown) => this.relay(update, origin));
    this.awareness.on('update', (change: { added: number[]; updated: number[]; removed: number[] }, origin: unknown) => this.relayAwareness(change, origin));
    this.ready = this.load();
  }

  /** Subscribe first, then read the log: an update a peer stores in between arrives by the bus (applying it twice changes nothing). */
  private async load(): Promise<void> {
    await this.deps.bus.subscribe(this.tenant, this.id, (kind, payload) => this.fromPeer(kind, payload));
    await this.reload();
  }

  private reloading: Promise<void> | undefined;

  /**
   * Applies the snapshot and every logged update again (idempotent; new
   * content goes to local clients). Concurrent calls share one read. This
   * is how an update stored by an instance that died before publishing it
   * reaches the others: on every join and every resync interval.
   */
  reload(): Promise<void> {
    this.reloading ??= this.readLog().finally(() => (this.reloading = undefined));
    return this.reloading;
  }

  private async readLog(): Promise<void> {
    const state = await withTenant(this.tenant, () => readState(this.deps.pool, this.id));
    this.logged = state.updates.length;
    this.doc.transact(() => {
      if (state.snapshot && state.snapshot.length > 0) Y.applyUpdate(this.doc, state.snapshot);
      for (const u of state.updates) Y.applyUpdate(this.doc, u.update);
    }, LOADED);
  }

  private fromPeer(kind: BusKind, payload: Uint8Array): void {
    if (kind === KIND.UPDATE) {
      this.deps.metrics.updates.inc({ source: 'peer' });
      Y.applyUpdate(this.doc, payload, PEER);
    } else if (kind === KIND.AWARENESS) {
      this.deps.metrics.awareness.inc({ source: 'peer' });
      awarenessProtocol.applyAwarenessUpdate(this.awareness, payload, PEER);
    } else if (kind === KIND.RELOAD) {
      this.reload().catch((err: unknown) => this.deps.log.warn({ err, document: this.id }, 'collab reload after a peer reconnect failed'));
    }
  }

  /** A client's update (sync step 2 or update): queued for the log; applied and relayed once stored. */
  receive(update: Uint8Array, from: Peer): void {
    if (isEmptyUpdate(update)) return;
    this.pending.push({ update, from, at: performance.now() });
    this.pump();
  }

  /** Starts a batch of everything waiting while fewer than storeConcurrency are being stored; each one ending starts the next. */
  private pump(): void {
    while (this.pending.length > 0 && this.storing.size < this.deps.storeConcurrency) {
      const batch = this.pending.splice(0);
      const stored: Promise<void> = this.store(batch).finally(() => {
        this.storing.delete(stored);
        this.pump();
      });
      this.storing.add(stored);
    }
  }

  /** One INSERT for the batch; applied (and so relayed) only once committed. Never rejects. */
  private async store(batch: { update: Uint8Array; from: Peer; at: number }[]): Promise<void> {
    try {
      await withTenant(this.tenant, () => appendUpdates(this.deps.pool, this.id, batch.map((b) => b.update)));
    } catch (err) {
      this.deps.log.error({ err, document: this.id, updates: batch.length }, 'collab updates not stored: their clients are closed and resync');
      for (const b of new Set(batch.map((x) => x.from))) b.close(1011, 'update not stored');
      return;
    }
    const now = performance.now();
    for (const b of batch) {
      this.deps.metrics.persistSeconds.observe((now - b.at) / 1000);
      this.deps.metrics.updates.inc({ source: 'client' });
      Y.applyUpdate(this.doc, b.update, b.from);
    }
    this.logged += batch.length;
    if (this.logged >= this.deps.compactAfterUpdates) void this.compact();
  }

  /** Merges the snapshot and the logged updates into a new snapshot (store/compact: one transaction, concurrent updates kept). */
  compact(): Promise<void> {
    this.compacting ??= withTenant(this.tenant, () => compact(this.deps.pool, this.id, (snapshot, updates) => mergeState(snapshot, updates)))
      .then((merged) => {
        this.logged = Math.max(0, this.logged - merged);
        this.deps.metrics.compactions.inc({ result: 'ok' });
      })
      .catch((err: unknown) => {
        this.deps.metrics.compactions.inc({ result: 'failed' });
        this.deps.log.warn({ err, document: this.id }, 'collab compaction failed (the log keeps growing until the next one)');
      })
      .finally(() => (this.compacting = undefined));
    return this.compacting;
  }

  /** Waits for queued updates to be stored (drain). */
  async settle(): Promise<void> {
    while (this.storing.size > 0) await Promise.all([...this.storing]);
    await this.compacting;
  }

  private relay(update: Uint8Array, origin: unknown): void {
    const encoder = encoding.createEncoder();
    encoding.writeVarUint(encoder, MESSAGE.SYNC);
    syncProtocol.writeUpdate(encoder, update);
    const message = encoding.toUint8Array(encoder);
    for (const peer of this.peers) if (peer !== origin) peer.send(message);
    if (origin !== PEER && origin !== LOADED) this.deps.bus.publish(this.tenant, this.id, KIND.UPDATE, update);
  }

  private awarenessChanged = new Set<number>();
  private awarenessToBus = new Set<number>();
  private awarenessTimer: NodeJS.Timeout | undefined;

  /**
   * Awareness changes are coalesced for AWARENESS_FLUSH_MS: one message with
   * every changed state goes to the local clients (and one to the bus),
   * instead of one per change to each of N clients (y-websocket clients
   * also echo every state they receive back, N² messages per renewal round).
   */
  private relayAwareness(change: { added: number[]; updated: number[]; removed: number[] }, origin: unknown): void {
    if (this.peers.has(origin as Peer)) {
      const peer = origin as Peer;
      for (const id of change.added) peer.awarenessIds.add(id);
      for (const id of change.removed) peer.awarenessIds.delete(id);
    }
    // Timeouts are each instance's own (every instance drops a silent client after 30 s); only a client's own changes travel.
    const toBus = origin !== PEER && origin !== 'timeout' && origin !== LOADED;
    for (const id of [...change.added, ...change.updated, ...change.removed]) {
      this.awarenessChanged.add(id);
      if (toBus) this.awarenessToBus.add(id);
    }
    this.awarenessTimer ??= setTimeout(() => this.flushAwareness(), AWARENESS_FLUSH_MS);
  }

  private flushAwareness(): void {
    this.awarenessTimer = undefined;
    const changed = [...this.awarenessChanged];
    const toBus = [...this.awarenessToBus];
    this.awarenessChanged.clear();
    this.awarenessToBus.clear();
    if (changed.length > 0 && this.peers.size > 0) {
      const encoder = encoding.createEncoder();
      encoding.writeVarUint(encoder, MESSAGE.AWARENESS);
      encoding.writeVarUint8Array(encoder, awarenessProtocol.encodeAwarenessUpdate(this.awareness, changed));
      const message = encoding.toUint8Array(encoder);
      for (const peer of this.peers) peer.send(message);
    }
    if (toBus.length > 0) this.deps.bus.publish(this.tenant, this.id, KIND.AWARENESS, awarenessProtocol.encodeAwarenessUpdate(this.awareness, toBus));
  }

  countAwareness(): void {
    this.deps.metrics.awareness.inc({ source: 'client' });
  }

  leave(peer: Peer): void {
    this.peers.delete(peer);
    if (peer.awarenessIds.size > 0) awarenessProtocol.removeAwarenessStates(this.awareness, [...peer.awarenessIds], peer);
  }

  async destroy(): Promise<void> {
    clearTimeout(this.awarenessTimer);
    await this.deps.bus.unsubscribe(this.tenant, this.id);
    this.awareness.destroy();
    this.doc.destroy();
  }
}
