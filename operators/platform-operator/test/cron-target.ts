/**
 * A real HTTP server standing in for a CronTask's target: it records every
 * call (headers, start, end, whether the caller went away before the answer)
 * and can be made slow or failing. Listens on 127.0.0.1, port 0.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { startHttpServer, type HttpServer } from '@bulwark/test-support';

export interface TargetCall {
  idempotencyKey: string;
  fencingToken: string;
  run: string;
  runUid: string;
  tick: string;
  attempt: number;
  startedAt: number;
  endedAt?: number;
  /** The caller closed the connection before the answer (e.g. Replace aborted it). */
  aborted: boolean;
}

export interface TargetOptions {
  /** Time each call takes before answering. */
  delayMs?: number;
  status?: number;
  /** Called per request instead of the default answer (after the delay is not applied). */
  handle?: (call: TargetCall, req: IncomingMessage, res: ServerResponse) => Promise<void>;
}

export class CronTarget {
  readonly calls: TargetCall[] = [];
  readonly options: TargetOptions;
  #http: HttpServer | undefined;
  #inFlight = 0;
  /** Most calls in progress at once. */
  maxConcurrent = 0;

  constructor(options: TargetOptions = {}) {
    this.options = options;
  }

  async start(): Promise<string> {
    this.#http = await startHttpServer((req, res) => void this.#serve(req, res));
    return `${this.#http.url}/hook`;
  }

  async stop(): Promise<void> {
    const http = this.#http;
    this.#http = undefined;
    await http?.close();
  }

  async #serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const header = (name: string): string => String(req.headers[name.toLowerCase()] ?? '');
    for await (const chunk of req) void chunk;
    const call: TargetCall = {
      idempotencyKey: header('Idempotency-Key'),
      fencingToken: header('Bulwark-Fencing-Token'),
      run: header('Bulwark-Run'),
      runUid: header('Bulwark-Run-Uid'),
      tick: header('Bulwark-Tick'),
      attempt: Number(header('Bulwark-Attempt')),
      startedAt: Date.now(),
      aborted: false,
    };
    this.calls.push(call);
    this.#inFlight++;
    this.maxConcurrent = Math.max(this.maxConcurrent, this.#inFlight);
    res.on('close', () => {
      if (!res.writableFinished) call.aborted = true;
    });
    try {
      if (this.options.handle) {
        await this.options.handle(call, req, res);
      } else {
        // Unref'd: a slow answer still pending when the test ends must not keep Jest alive.
        await new Promise((r) => setTimeout(r, this.options.delayMs ?? 0).unref());
        if (!res.destroyed) res.writeHead(this.options.status ?? 200, { 'content-type': 'application/json' }).end('{"ok":true}');
      }
    } finally {
      call.endedAt = Date.now();
      this.#inFlight--;
    }
  }
}

/** True when no two calls' [start, end] intervals overlap. */
export function overlapping(calls: TargetCall[]): Array<[TargetCall, TargetCall]> {
  const sorted = [...calls].sort((a, b) => a.startedAt - b.startedAt);
  const pairs: Array<[TargetCall, TargetCall]> = [];
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1] as TargetCall;
    const cur = sorted[i] as TargetCall;
    if (cur.startedAt < (prev.endedAt ?? Number.POSITIVE_INFINITY)) pairs.push([prev, cur]);
  }
  return pairs;
}
