/**
 * createIdempotency: the Express middleware and the sweeper over one key
 * store. Per request with a key: take the key's session advisory lock on a
 * dedicated connection (busy → 409, or wait), read the row and decide
 * (state-machine.ts), record `started` (committed, so a crash leaves a
 * trace), open the business transaction the handler writes through
 * (`requestTransaction().tx`), capture the response, and record the outcome
 * before the client sees a byte: `completed` commits in the same transaction
 * as the business writes; failures roll the writes back and record
 * `failed_final` (replayed) or `failed_retryable` (run again on retry).
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { currentDbContext, type DbClient, type DbPool } from '@bulwark/db';
import type { Registry } from 'prom-client';
import { idempotencyError } from './errors.ts';
import { requestsCounter } from './metrics.ts';
import { lockKeyOf, parseIdempotencyKey, requestFingerprint } from './fingerprint.ts';
import { decide, outcomeOf } from './state-machine.ts';
import { createKeyStore, type KeyId, type StoredResponse } from './store.ts';
import { holdResponse, UNSAFE_METHODS, writeProblem } from './hold-response.ts';
import { idempotencyContract, withContract } from './openapi-contract.ts';
import { runInRequestTransaction } from './request-transaction.ts';

export const REPLAYED_HEADER = 'idempotent-replayed';
/** Per-request or per-connection headers never stored with a response. */
const UNSTORED_HEADERS: ReadonlySet<string> = new Set(['x-request-id', 'traceparent', 'tracestate', 'content-length', 'connection', 'keep-alive', 'transfer-encoding', 'date', 'set-cookie', REPLAYED_HEADER]);

export interface IdempotencyOptions {
  pool: DbPool;
  /** Namespace of keys (one per service or API); keys of different scopes never meet. Unique per database. */
  scope: string;
  /** How long a key and its stored response live; default 86400 (24 h). */
  ttlSeconds?: number;
  /** A duplicate while the first is in flight: 409 (default) or wait for it and replay. */
  concurrent?: 'conflict' | 'wait';
  /** Longest wait in `wait` mode before answering 409; default 10000 ms. */
  waitTimeoutMs?: number;
  /** Whether unsafe requests without a key are refused (400); default true. When false they run without protection. */
  required?: boolean;
  /** Schema of `idempotency_keys`; default: the pool's search_path. */
  schema?: string;
  /** Retry-After seconds on 409; default 1. */
  retryAfterSeconds?: number;
  /** Registers `idempotency_requests_total{scope,outcome}` here when given (the service's registry). */
  registry?: Registry;
  /** Told about store errors the client only sees as a 503 (or a lost lock release). */
  onError?: (err: unknown, context: { scope: string; key: string; stage: string }) => void;
}

/** What the handler (or a use case below it) finds through requestTransaction() for a request with a key. */
export interface IdempotencyLocals {
  key: string;
  /** The open business transaction: write through it and the writes commit with the stored response. */
  tx: DbClient;
  /** 1 for the first execution of the key. */
  attempt: number;
  /** True when a previous execution of this key crashed mid-way (row left `started`). */
  recovered: boolean;
  /**
   * Commit the handler's writes even if the response is a 4xx (e.g. a
   * declined payment that must be recorded). By default a 4xx rolls back.
   */
  keepWritesOnFailure(): void;
}

export interface Idempotency {
  /** Express middleware; mount after the body parser (and validation) on the routes it protects. */
  middleware: RequestHandler;
  /** Deletes expired keys of this scope; returns how many. Safe from several instances at once. */
  sweep(): Promise<number>;
}

function pathOf(req: Request): string {
  const url = req.originalUrl;
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

function storableHeaders(res: Response): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(res.getHeaders())) {
    if (value === undefined || UNSTORED_HEADERS.has(name)) continue;
    out[name] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  return out;
}

/** outcome label: what the middleware did with a request. */
type Outcome = 'executed' | 'retried' | 'recovered' | 'replayed' | 'key_reused' | 'in_flight' | 'key_missing' | 'key_invalid' | 'store_failed' | 'unprotected';

export function createIdempotency(options: IdempotencyOptions): Idempotency {
  const { pool, scope } = options;
  const ttlSeconds = options.ttlSeconds ?? 86_400;
  const concurrent = options.concurrent ?? 'conflict';
  const waitTimeoutMs = options.waitTimeoutMs ?? 10_000;
  const required = options.required ?? true;
  const retryAfterSeconds = options.retryAfterSeconds ?? 1;
  const store = createKeyStore(options.schema);
  const report = (err: unknown, key: string, stage: string): void => options.onError?.(err, { scope, key, stage });
  const requests = options.registry && requestsCounter(options.registry);
  const count = (outcome: Outcome): void => requests?.inc({ scope, outcome });

  function replay(res: Response, response: StoredResponse): void {
    res.status(response.status);
    for (const [name, value] of Object.entries(response.headers)) res.setHeader(name, value);
    res.setHeader(REPLAYED_HEADER, 'true');
    res.setHeader('content-length', response.body.length);
    res.end(response.body);
  }

  /** Unlocks and returns the connection; a connection that cannot unlock is closed (which unlocks). */
  async function letGo(client: DbClient, lockKey: string, key: string): Promise<void> {
    try {
      await store.unlock(client, lockKey);
      client.release();
    } catch (err) {
      report(err, key, 'unlock');
      client.release(err instanceof Error ? err : true);
    }
  }

  async function middleware(req: Request, res: Response, next: NextFunction): Promise<void> {
    if (!UNSAFE_METHODS.has(req.method)) return next();
    const instance = pathOf(req);
    const parsed = parseIdempotencyKey(req.get('idempotency-key'));
    if (!parsed.ok) {
      if (parsed.reason === 'missing' && !required) {
        count('unprotected');
        return next();
      }
      count(parsed.reason === 'missing' ? 'key_missing' : 'key_invalid');
      return parsed.reason === 'missing'
        ? writeProblem(res, idempotencyError('IDEMPOTENCY_KEY_MISSING', `${req.method} ${instance} requires an Idempotency-Key header.`), instance)
        : writeProblem(res, idempotencyError('IDEMPOTENCY_KEY_INVALID', 'The Idempotency-Key header must be 1-255 visible ASCII characters.'), instance);
    }
    const { key } = parsed;
    const fingerprint = requestFingerprint(req.method, instance, req.body);
    // Keys are per tenant: the tenant of the database context the request runs in (service-kit's
    // requestScope, from the gateway's verified x-auth-tenant); '' for a request without one.
    const context = currentDbContext();
    const id: KeyId = { scope, tenant: context?.kind === 'tenant' ? context.tenant : '', key };
    const lockKey = lockKeyOf(scope, key, id.tenant);

    let client: DbClient;
    try {
      client = await pool.connect();
    } catch (err) {
      report(err, key, 'connect');
      count('store_failed');
      return writeProblem(res, idempotencyError('IDEMPOTENCY_STORE_FAILED', 'The idempotency store is unavailable; retry with the same key.', { retryAfterSeconds, cause: err }), instance);
    }

    let decision: ReturnType<typeof decide>;
    let stored: StoredResponse | undefined;
    try {
      let { locked, inserted } = await store.lockAndInsert(client, lockKey, id, fingerprint, ttlSeconds);
      if (!locked && concurrent === 'wait' && (await store.waitLock(client, lockKey, waitTimeoutMs))) locked = true;
      if (!locked) {
        client.release();
        count('in_flight');
        return writeProblem(res, idempotencyError('IDEMPOTENCY_KEY_IN_FLIGHT', `A request with Idempotency-Key ${JSON.stringify(key)} is still being processed.`, { retryAfterSeconds }), instance);
      }
      if (inserted) {
        decision = { kind: 'execute', fresh: true, recovered: false, attempt: 1 };
      } else {
        const row = await store.read(client, id);
        if (!row) inserted = await store.insertStarted(client, id, fingerprint, ttlSeconds); // waited, and the key was swept meanwhile
        decision = inserted ? { kind: 'execute', fresh: true, recovered: false, attempt: 1 } : decide(row, fingerprint, new Date());
        stored = row?.response;
        if (decision.kind === 'execute' && !inserted) {
          if (decision.fresh) await store.restartFresh(client, id, fingerprint, ttlSeconds);
          else await store.restartAttempt(client, id, decision.attempt);
        }
      }
    } catch (err) {
      report(err, key, 'begin');
      client.release(err instanceof Error ? err : true);
      count('store_failed');
      return writeProblem(res, idempotencyError('IDEMPOTENCY_STORE_FAILED', 'The idempotency store is unavailable; retry with the same key.', { retryAfterSeconds, cause: err }), instance);
    }

    if (decision.kind === 'mismatch') {
      await letGo(client, lockKey, key);
      count('key_reused');
      return writeProblem(res, idempotencyError('IDEMPOTENCY_KEY_REUSED', `Idempotency-Key ${JSON.stringify(key)} was used for a different request.`), instance);
    }
    if (decision.kind === 'replay') {
      await letGo(client, lockKey, key);
      count('replayed');
      return replay(res, stored!);
    }

    try {
      await client.query('BEGIN');
    } catch (err) {
      report(err, key, 'begin');
      client.release(err instanceof Error ? err : true);
      count('store_failed');
      return writeProblem(res, idempotencyError('IDEMPOTENCY_STORE_FAILED', 'The idempotency store is unavailable; retry with the same key.', { retryAfterSeconds, cause: err }), instance);
    }
    count(decision.recovered ? 'recovered' : decision.attempt > 1 ? 'retried' : 'executed');
    let keepWrites = false;
    const locals: IdempotencyLocals = {
      key,
      tx: client,
      attempt: decision.attempt,
      recovered: decision.recovered,
      keepWritesOnFailure() {
        keepWrites = true;
      },
    };

    // Hold the response until its outcome is recorded: the client must never
    // see a success that is not durable, nor a failure whose record is lost.
    holdResponse(res, settle, () => {
      count('store_failed');
      writeProblem(res, idempotencyError('IDEMPOTENCY_STORE_FAILED', 'The response could not be recorded; nothing was committed, retry with the same key.', { retryAfterSeconds }), instance);
    });

    /** Records the outcome; false when the business commit itself failed (then nothing is committed). */
    async function settle(body: Buffer): Promise<boolean> {
      const status = res.statusCode;
      const outcome = outcomeOf(status);
      const response: StoredResponse = { status, headers: storableHeaders(res), body };
      try {
        if (outcome === 'completed' || (outcome === 'failed_final' && keepWrites)) {
          await store.finish(client, id, fingerprint, ttlSeconds, outcome, response, true);
          await store.commitAndUnlock(client, lockKey);
          client.release();
          return true;
        }
        await client.query('ROLLBACK');
        await store.finish(client, id, fingerprint, ttlSeconds, outcome, outcome === 'failed_final' ? response : undefined, false);
      } catch (err) {
        report(err, key, 'settle');
        // Nothing of this attempt is durable; the row stays `started` and the
        // connection is closed, which frees the lock: a retry recovers it.
        client.release(err instanceof Error ? err : true);
        // A failure response can still go out as it is; a success that is not durable cannot.
        return outcome === 'failed_retryable';
      }
      await letGo(client, lockKey, key);
      return true;
    }

    // The handler and the use cases below it join the transaction through requestTransaction().
    runInRequestTransaction(locals, next);
  }

  const run: RequestHandler = (req, res, next) => {
    middleware(req, res, next).catch(next);
  };
  return {
    middleware: withContract(run, idempotencyContract(required)),
    sweep: () => store.sweep(pool, scope, 1000),
  };
}
