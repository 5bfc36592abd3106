/**
 * The OpenFeature server provider of the platform's flags. It holds one
 * snapshot of its tenant's environment and evaluates every flag locally with
 * the shared `evaluateFlag` (no call per evaluation). The snapshot is kept
 * current over apps/flags' server-sent-events stream: each change arrives as
 * a new snapshot whose SSE id is its revision, a reconnect sends that id as
 * Last-Event-ID (nothing is resent when nothing changed), and a stream quiet
 * for longer than three heartbeats is dropped and reopened with backoff.
 * When flags is away the last snapshot keeps answering (STALE is emitted);
 * with `snapshotFile` it also survives a restart of the service.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  ErrorCode,
  OpenFeatureEventEmitter,
  ProviderEvents,
  type EvaluationContext as OfContext,
  type JsonValue as OfJson,
  type Provider,
  type ResolutionDetails,
} from '@openfeature/server-sdk';
import { backoffDelay, type BackoffPolicy } from '@bulwark/service-kit/backoff';
import { evaluateFlag } from './evaluation/evaluate.ts';
import type { EvaluationContext, FlagType, Snapshot } from './evaluation/types.ts';
import { createExposureSink, type Exposure, type ExposureSink } from './exposures.ts';
import { readSse } from './sse.ts';

export interface BulwarkFlagsProviderOptions {
  /** apps/flags' base URL. */
  url: string;
  tenant: string;
  /** Default `production`. */
  environment?: string;
  /** Extra headers of every call (e.g. a service token); called per connection. */
  headers?: () => Record<string, string> | Promise<Record<string, string>>;
  /** Where the last snapshot is kept across restarts; unset: memory only. */
  snapshotFile?: string;
  /** How long initialize() waits for the first snapshot before starting from `snapshotFile` (default 5 s). */
  initTimeoutMs?: number;
  /** The server's heartbeat; a stream quiet for 3× this is reopened (default 15 s, as apps/flags sends). */
  heartbeatMs?: number;
  /** Reconnect backoff (default 200 ms doubling to 10 s, full jitter). */
  reconnect?: BackoffPolicy;
  /** Exposures of experiment flags: sent to flags in batches (default on); false keeps none. */
  exposures?: false | { flushIntervalMs?: number; maxBatch?: number };
  log?: { warn(obj: object, msg?: string): void; info(obj: object, msg?: string): void };
}

const quiet = { warn: () => undefined, info: () => undefined };

export class BulwarkFlagsProvider implements Provider {
  readonly metadata = { name: 'bulwark-flags' } as const;
  readonly runsOn = 'server' as const;
  readonly events = new OpenFeatureEventEmitter();
  private snapshotValue: Snapshot | undefined;
  private connected = false;
  private closed = false;
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  private firstSnapshot: (() => void) | undefined;
  private readonly sink: ExposureSink | undefined;
  private readonly environment: string;
  private readonly log: NonNullable<BulwarkFlagsProviderOptions['log']>;

  private readonly options: BulwarkFlagsProviderOptions;

  constructor(options: BulwarkFlagsProviderOptions) {
    this.options = options;
    this.environment = options.environment ?? 'production';
    this.log = options.log ?? quiet;
    if (options.exposures !== false) this.sink = createExposureSink({ url: options.url, tenant: options.tenant, headers: options.headers, log: this.log, ...options.exposures });
  }

  /** The snapshot evaluations read (undefined before the first). */
  get snapshot(): Snapshot | undefined {
    return this.snapshotValue;
  }

  /** Whether the stream is open now (false: answering from the last snapshot). */
  get streaming(): boolean {
    return this.connected;
  }

  async initialize(): Promise<void> {
    const first = new Promise<void>((resolve) => (this.firstSnapshot = resolve));
    this.loop = this.run();
    const timeoutMs = this.options.initTimeoutMs ?? 5_000;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
    const outcome = await Promise.race([first, timedOut]);
    clearTimeout(timer);
    if (outcome !== 'timeout') return;
    const saved = await this.readSnapshotFile();
    if (saved && !this.snapshotValue) {
      this.snapshotValue = saved;
      this.log.warn({ revision: saved.revision }, 'flags unreachable: starting from the saved snapshot');
      return;
    }
    if (!this.snapshotValue) throw new Error(`no snapshot from ${this.options.url} within ${timeoutMs} ms and none saved`);
  }

  async onClose(): Promise<void> {
    this.closed = true;
    this.abort.abort();
    await this.loop;
    await this.sink?.close();
  }

  resolveBooleanEvaluation(key: string, defaultValue: boolean, context: OfContext): Promise<ResolutionDetails<boolean>> {
    return Promise.resolve(this.resolve(key, defaultValue, context, 'boolean'));
  }

  resolveStringEvaluation(key: string, defaultValue: string, context: OfContext): Promise<ResolutionDetails<string>> {
    return Promise.resolve(this.resolve(key, defaultValue, context, 'string'));
  }

  resolveNumberEvaluation(key: string, defaultValue: number, context: OfContext): Promise<ResolutionDetails<number>> {
    return Promise.resolve(this.resolve(key, defaultValue, context, 'number'));
  }

  resolveObjectEvaluation<T extends OfJson>(key: string, defaultValue: T, context: OfContext): Promise<ResolutionDetails<T>> {
    return Promise.resolve(this.resolve(key, defaultValue, context, 'object'));
  }

  /** Evaluates against the current snapshot; errors answer the default with OpenFeature's code. */
  resolve<T>(key: string, defaultValue: T, context: OfContext, type: FlagType): ResolutionDetails<T> {
    const snapshot = this.snapshotValue;
    if (!snapshot) return { value: defaultValue, reason: 'ERROR', errorCode: ErrorCode.PROVIDER_NOT_READY, errorMessage: 'no snapshot yet' };
    const r = evaluateFlag(snapshot, key, context as EvaluationContext, type);
    if (!r.ok) return { value: defaultValue, reason: 'ERROR', errorCode: r.errorCode as ErrorCode, errorMessage: r.message };
    if (r.experiment !== undefined && this.sink) this.sink.record({ experiment: r.experiment, flag: key, variant: r.variant, targetingKey: context.targetingKey!, environment: snapshot.environment });
    return { value: r.value as T, variant: r.variant, reason: r.reason, flagMetadata: { version: r.flagVersion, revision: snapshot.revision } };
  }

  private async run(): Promise<void> {
    const policy = this.options.reconnect ?? { baseMs: 200, capMs: 10_000, jitter: 'full' };
    const heartbeatMs = this.options.heartbeatMs ?? 15_000;
    let attempt = 0;
    while (!this.closed) {
      const watchdog = new AbortController();
      const signal = AbortSignal.any([this.abort.signal, watchdog.signal]);
      let timer: NodeJS.Timeout | undefined;
      const pet = () => {
        clearTimeout(timer);
        timer = setTimeout(() => watchdog.abort(new Error('snapshot stream quiet')), heartbeatMs * 3);
      };
      try {
        pet();
        const revision = this.snapshotValue?.revision;
        const headers = { accept: 'text/event-stream', 'x-auth-tenant': this.options.tenant, ...(revision !== undefined ? { 'last-event-id': String(revision) } : {}), ...(await this.options.headers?.()) };
        const res = await fetch(`${this.options.url}/v1/snapshot/stream?environment=${encodeURIComponent(this.environment)}`, { headers, signal });
        if (!res.ok || !res.body) throw new Error(`snapshot stream answered ${res.status}`);
        this.connected = true;
        attempt = 0;
        for await (const event of readSse(res.body, pet)) {
          if (event.event === 'snapshot') await this.apply(JSON.parse(event.data) as Snapshot);
        }
        throw new Error('snapshot stream ended');
      } catch (err) {
        if (this.closed) break;
        if (this.connected) {
          this.connected = false;
          this.log.warn({ err }, 'flags snapshot stream lost: evaluating from the last snapshot');
          this.events.emit(ProviderEvents.Stale, { message: 'flags unreachable: evaluating from the last snapshot' });
        }
        attempt++;
        await new Promise<void>((resolve) => {
          const wait = setTimeout(resolve, backoffDelay(attempt, policy));
          this.abort.signal.addEventListener('abort', () => (clearTimeout(wait), resolve()), { once: true });
        });
      } finally {
        clearTimeout(timer);
      }
    }
  }

  private async apply(next: Snapshot): Promise<void> {
    const previous = this.snapshotValue;
    if (previous && next.revision < previous.revision) return;
    this.snapshotValue = next;
    if (this.firstSnapshot) {
      this.firstSnapshot();
      this.firstSnapshot = undefined;
    } else {
      const flagsChanged = Object.keys(next.flags).filter((k) => next.flags[k]!.version !== previous?.flags[k]?.version);
      for (const k of Object.keys(previous?.flags ?? {})) if (!(k in next.flags)) flagsChanged.push(k);
      this.events.emit(previous ? ProviderEvents.ConfigurationChanged : ProviderEvents.Ready, { flagsChanged });
    }
    if (this.options.snapshotFile) await this.writeSnapshotFile(next).catch((err: unknown) => this.log.warn({ err }, 'saving the flags snapshot failed'));
  }

  private async writeSnapshotFile(snapshot: Snapshot): Promise<void> {
    const file = this.options.snapshotFile!;
    await mkdir(dirname(file), { recursive: true });
    // Whole or nothing: a crash mid-write leaves the previous file.
    await writeFile(`${file}.tmp`, JSON.stringify(snapshot));
    await rename(`${file}.tmp`, file);
  }

  private async readSnapshotFile(): Promise<Snapshot | undefined> {
    if (!this.options.snapshotFile) return undefined;
    try {
      const saved = JSON.parse(await readFile(this.options.snapshotFile, 'utf8')) as Snapshot;
      return saved.tenant === this.options.tenant && saved.environment === this.environment ? saved : undefined;
    } catch {
      return undefined;
    }
  }
}

export type { Exposure };
