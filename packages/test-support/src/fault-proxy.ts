/**
 * A small HTTP proxy in front of a real service, for fault tests that need a
 * fault at an exact point rather than at a moment found by polling.
 *
 * Every request is forwarded to the target as it came (method, path, headers,
 * body) and its answer is read whole. A rule, armed by the test, may act on
 * the first request it matches, before it goes on:
 *   - `onArrived` runs once the request has arrived and before it is forwarded;
 *     with `drop` it is never forwarded and the caller's connection is closed
 *     (kill the caller here: its request never took effect);
 * or once the target has answered (the effect has happened at the service):
 *   - `onAnswered` runs before the answer goes back (kill the caller here: its
 *     request took effect, and it never learns the answer);
 *   - `hold` keeps the answer until the given promise settles;
 *   - `replaceStatus` sends the caller an empty answer with that status instead
 *     (an answer lost on the way back, as a load balancer's 503 would be).
 * A rule with `times` acts on that many matching requests; the default is one.
 */
import type { IncomingMessage } from 'node:http';
import { startHttpServer } from './http-server.ts';

export interface ProxiedRequest {
  method: string;
  /** Path with query string, as the caller sent it. */
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface FaultRule {
  /** Which request the rule acts on. */
  match: (req: ProxiedRequest) => boolean;
  /** Runs when the request has arrived, before it is forwarded. */
  onArrived?: (req: ProxiedRequest) => Promise<void> | void;
  /** The request is not forwarded: after onArrived, the caller's connection is closed without an answer. */
  drop?: boolean;
  /** Runs after the target answered and before the answer is sent back. */
  onAnswered?: (req: ProxiedRequest, status: number) => Promise<void> | void;
  /** The answer waits for this before it goes back. */
  hold?: Promise<unknown>;
  /** Sends this status (empty body) instead of the target's answer. */
  replaceStatus?: number;
  /** How many matching requests the rule acts on (default 1); Infinity until disarmed. */
  times?: number;
}

export interface FaultProxy {
  readonly url: string;
  /** Every request forwarded, in arrival order. */
  readonly seen: ProxiedRequest[];
  /** Adds a rule; returns a function that removes it. */
  arm(rule: FaultRule): () => void;
  /** How many times rules have acted. */
  readonly acted: number;
  close(): Promise<void>;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-connection', 'host', 'content-length']);

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Starts a proxy on a free loopback port in front of `target` (e.g. `http://127.0.0.1:8084`). */
export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const rules: { rule: FaultRule; left: number }[] = [];
  const seen: ProxiedRequest[] = [];
  let acted = 0;
  const server = await startHttpServer((req, res) => {
    void (async () => {
      const request: ProxiedRequest = { method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers, body: await readBody(req) };
      seen.push(request);
      const entry = rules.find((r) => r.left > 0 && r.rule.match(request));
      if (entry) {
        entry.left--;
        acted++;
      }
      if (entry?.rule.onArrived) await entry.rule.onArrived(request);
      if (entry?.rule.drop) {
        res.destroy();
        return;
      }
      const headers = new Headers();
      for (const [name, value] of Object.entries(req.headers)) {
        if (value === undefined || HOP_BY_HOP.has(name)) continue;
        for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
      }
      const answer = await fetch(`${target}${request.path}`, {
        method: request.method,
        headers,
        body: request.method === 'GET' || request.method === 'HEAD' ? undefined : request.body,
      });
      const body = Buffer.from(await answer.arrayBuffer());
      if (entry?.rule.hold) await entry.rule.hold.catch(() => undefined);
      if (entry?.rule.onAnswered) await entry.rule.onAnswered(request, answer.status);
      if (res.destroyed) return;
      if (entry?.rule.replaceStatus !== undefined) {
        res.writeHead(entry.rule.replaceStatus, { 'content-length': '0' }).end();
        return;
      }
      const out: Record<string, string> = {};
      answer.headers.forEach((value, name) => {
        if (!HOP_BY_HOP.has(name) && name !== 'content-encoding') out[name] = value;
      });
      res.writeHead(answer.status, { ...out, 'content-length': String(body.length) }).end(body);
    })().catch((err: unknown) => {
      if (!res.headersSent && !res.destroyed) res.writeHead(502, { 'content-type': 'text/plain' }).end(String(err));
      else res.destroy();
    });
  });
  return {
    url: server.url,
    seen,
    get acted() {
      return acted;
    },
    arm(rule) {
      const entry = { rule, left: rule.times ?? 1 };
      rules.push(entry);
      return () => {
        entry.left = 0;
      };
    },
    close: () => server.close(),
  };
}
