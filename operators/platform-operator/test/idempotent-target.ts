/**
 * An example CronTask HTTP target that is correct under at-least-once
 * delivery, the contract the operator gives a target (README, "What a target
 * must do"): a resumed run re-sends its tick with the same Idempotency-Key,
 * and a deposed leader's call can arrive late. It
 *
 * 1. refuses a `Bulwark-Fencing-Token` whose leaseTransitions (the integer
 *    before the `/`) is below the highest it has accepted: 409 problem+json,
 *    which the operator does not retry;
 * 2. does the work once per `Idempotency-Key` and answers a repeat with the
 *    first outcome, without doing it again.
 *
 * Memory only, to stay small; a real target keeps both in its database, the
 * key under a UNIQUE constraint in the same transaction as the work (as
 * test/crontask-soak.test.ts does in PostgreSQL) and the highest token in a
 * row updated with `greatest()`. Listens on 127.0.0.1, port 0.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { startHttpServer, type HttpServer } from '@bulwark/test-support';

export interface Delivery {
  idempotencyKey: string;
  fencingToken: string;
  /** leaseTransitions of the token; NaN when it does not parse. */
  term: number;
  tick: string;
  attempt: number;
}

export type Verdict = 'done' | 'replayed' | 'fenced' | 'invalid';

/** The decision, apart from HTTP: what to do with one delivery. */
export class IdempotentReceiver {
  #highest = Number.NEGATIVE_INFINITY;
  readonly #done = new Map<string, Delivery>();

  get highestTerm(): number {
    return this.#highest;
  }

  /** `done` = do the work now (first delivery of its key); `replayed` = done before; `fenced` = a term below the highest seen. */
  receive(delivery: Delivery): Verdict {
    if (!delivery.idempotencyKey || !Number.isInteger(delivery.term)) return 'invalid';
    if (delivery.term < this.#highest) return 'fenced';
    this.#highest = delivery.term;
    if (this.#done.has(delivery.idempotencyKey)) return 'replayed';
    this.#done.set(delivery.idempotencyKey, delivery);
    return 'done';
  }
}

/** `<leaseTransitions>/<holder>` → leaseTransitions. */
export function termOf(fencingToken: string): number {
  const head = fencingToken.split('/')[0] ?? '';
  return /^\d+$/.test(head) ? Number(head) : Number.NaN;
}

export class IdempotentTarget {
  readonly receiver = new IdempotentReceiver();
  /** Every delivery with its verdict, in arrival order. */
  readonly log: Array<Delivery & { verdict: Verdict }> = [];
  readonly #work: (delivery: Delivery) => Promise<void>;
  #http: HttpServer | undefined;

  /** `work` is what a tick stands for, run once per key. */
  constructor(work: (delivery: Delivery) => Promise<void> = async () => undefined) {
    this.#work = work;
  }

  /** Deliveries whose work was done (one per key). */
  get done(): Delivery[] {
    return this.log.filter((d) => d.verdict === 'done');
  }

  async start(): Promise<string> {
    this.#http = await startHttpServer((req, res) => void this.#serve(req, res));
    return `${this.#http.url}/tick`;
  }

  async stop(): Promise<void> {
    const http = this.#http;
    this.#http = undefined;
    await http?.close();
  }

  async #serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    for await (const chunk of req) void chunk;
    const header = (name: string): string => String(req.headers[name] ?? '');
    const fencingToken = header('bulwark-fencing-token');
    const delivery: Delivery = {
      idempotencyKey: header('idempotency-key'),
      fencingToken,
      term: termOf(fencingToken),
      tick: header('bulwark-tick'),
      attempt: Number(header('bulwark-attempt')),
    };
    const verdict = this.receiver.receive(delivery);
    this.log.push({ ...delivery, verdict });
    if (verdict === 'invalid') return problem(res, 400, 'Missing Idempotency-Key or fencing token', 'Idempotency-Key and Bulwark-Fencing-Token: <leaseTransitions>/<holder> are required');
    if (verdict === 'fenced') {
      return problem(res, 409, 'Stale fencing token', `term ${delivery.term} is below the highest seen (${this.receiver.highestTerm}): a deposed leader's call`);
    }
    if (verdict === 'done') await this.#work(delivery);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ key: delivery.idempotencyKey, replayed: verdict === 'replayed' }));
  }
}

/** RFC 9457 problem details. */
function problem(res: ServerResponse, status: number, title: string, detail: string): void {
  res.writeHead(status, { 'content-type': 'application/problem+json' }).end(JSON.stringify({ type: 'about:blank', title, status, detail }));
}
