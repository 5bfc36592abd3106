/**
 * CONTRACT STUBS — not infrastructure, and not the real services. Small
 * in-test HTTP servers that honour the inventory and payments HTTP contracts
 * of issue 7 (Idempotency-Key replay, 409 insufficient stock, 402 decline,
 * 409 impossible transitions, list by orderId, 401 on /v1/internal/ without a
 * bearer token), so the saga can be tested
 * before apps/inventory and apps/payments exist. Each keeps a ledger the
 * tests reconcile against, and has knobs for faults: declines, slow answers
 * (that still take effect: the timeout case), and a hook that runs when a
 * request arrives (used to SIGKILL the orders process mid-step).
 */
import type http from 'node:http';
import { startHttpServer } from '@bulwark/test-support';

type Json = Record<string, unknown>;
interface Reply {
  status: number;
  body?: unknown;
  /** Answer this late (the effect has already happened); replays of the key are as slow. */
  delayMs?: number;
}
type Handler = (req: { method: string; path: string; query: URLSearchParams; body: Json; key: string | undefined }) => Promise<Reply> | Reply;

const problem = (status: number, type: string, extra: Json = {}): Reply => ({ status, body: { type: `https://bulwark.dev/problems/${type}`, title: type, status, ...extra } });

/** An HTTP server with Idempotency-Key replay (same key → same stored answer; same key in flight → 409). */
async function serve(route: Handler, hooks: { onRequest?: (method: string, path: string, headers: http.IncomingHttpHeaders) => Promise<void> | void }) {
  const stored = new Map<string, Reply>();
  const inFlight = new Set<string>();
  let replays = 0;
  const server = await startHttpServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString('utf8')));
    req.on('end', async () => {
      const url = new URL(req.url ?? '/', 'http://stub');
      const method = req.method ?? 'GET';
      const key = req.headers['idempotency-key'] as string | undefined;
      const send = (reply: Reply, replayed = false) => {
        if (res.destroyed) return;
        res.writeHead(reply.status, { 'content-type': reply.status >= 400 ? 'application/problem+json' : 'application/json', ...(replayed ? { 'idempotent-replayed': 'true' } : {}) });
        res.end(reply.body === undefined ? '' : JSON.stringify(reply.body));
      };
      try {
        await hooks.onRequest?.(method, url.pathname, req.headers);
        // The services' internal routes refuse a call without a bearer token (the stubs do not verify it).
        if (url.pathname.startsWith('/v1/internal/') && !/^Bearer \S+$/.test(req.headers.authorization ?? '')) return send(problem(401, 'token-missing', { code: 'TOKEN_MISSING' }));
        const scoped = key && `${method} ${url.pathname} ${key}`;
        if (scoped && stored.has(scoped)) {
          replays++;
          const again = stored.get(scoped)!;
          if (again.delayMs) await new Promise((r) => setTimeout(r, again.delayMs));
          return send(again, true);
        }
        if (scoped && inFlight.has(scoped)) return send(problem(409, 'idempotency-key-in-flight', { code: 'IDEMPOTENCY_KEY_IN_FLIGHT' }));
        if (scoped) inFlight.add(scoped);
        let reply: Reply;
        try {
          reply = await route({ method, path: url.pathname, query: url.searchParams, body: raw ? (JSON.parse(raw) as Json) : {}, key });
          if (scoped && reply.status < 500) stored.set(scoped, reply);
        } finally {
          if (scoped) inFlight.delete(scoped);
        }
        if (reply.delayMs) await new Promise((r) => setTimeout(r, reply.delayMs));
        send(reply);
      } catch (err) {
        send({ status: 500, body: { title: String(err) } });
      }
    });
  });
  return {
    url: server.url,
    /** Requests answered from the idempotency store (a retried key). */
    replays: () => replays,
    close: server.close,
  };
}

export interface StubReservation {
  id: string;
  orderId: string;
  status: 'held' | 'confirmed' | 'released';
  items: { sku: string; quantity: number }[];
}

/** Inventory contract stub: stock per SKU, all-or-nothing holds, confirm and release. */
export async function startInventoryStub(hooks: { onRequest?: (method: string, path: string, headers: http.IncomingHttpHeaders) => Promise<void> | void } = {}) {
  const skus = new Map<string, { onHand: number; reserved: number }>();
  const reservations = new Map<string, StubReservation>();
  let lowestAvailable = Infinity;
  let seq = 0;
  const view = (sku: string) => {
    const s = skus.get(sku)!;
    return { sku, onHand: s.onHand, reserved: s.reserved, available: s.onHand - s.reserved };
  };
  const track = () => {
    for (const s of skus.values()) lowestAvailable = Math.min(lowestAvailable, s.onHand - s.reserved, s.onHand);
  };
  const server = await serve(({ method, path, query, body }) => {
    let m: RegExpMatchArray | null;
    if ((m = path.match(/^\/v1\/skus\/([^/]+)$/))) {
      if (method === 'PUT') {
        const s = skus.get(m[1]!) ?? { onHand: 0, reserved: 0 };
        s.onHand = Number(body.onHand);
        skus.set(m[1]!, s);
        return { status: 200, body: view(m[1]!) };
      }
      return skus.has(m[1]!) ? { status: 200, body: view(m[1]!) } : problem(404, 'sku-not-found');
    }
    if (path === '/v1/internal/reservations' && method === 'POST') {
      const items = body.items as { sku: string; quantity: number }[];
      const short = items.filter((i) => !skus.has(i.sku) || skus.get(i.sku)!.onHand - skus.get(i.sku)!.reserved < i.quantity).map((i) => i.sku);
      if (short.length > 0) return problem(409, 'insufficient-stock', { skus: short });
      for (const i of items) skus.get(i.sku)!.reserved += i.quantity;
      track();
      const r: StubReservation = { id: `res-${++seq}`, orderId: String(body.orderId), status: 'held', items };
      reservations.set(r.id, r);
      return { status: 201, body: { ...r, expiresAt: new Date(Date.now() + 900_000).toISOString() } };
    }
    if (path === '/v1/internal/reservations' && method === 'GET') return { status: 200, body: [...reservations.values()].filter((r) => r.orderId === query.get('orderId')) };
    if ((m = path.match(/^\/v1\/internal\/reservations\/([^/]+)\/(confirm|release)$/)) && method === 'POST') {
      const r = reservations.get(m[1]!);
      if (!r) return problem(404, 'reservation-not-found');
      if (m[2] === 'confirm') {
        if (r.status === 'released') return problem(409, 'reservation-released');
        if (r.status === 'held') {
          for (const i of r.items) {
            const s = skus.get(i.sku)!;
            s.reserved -= i.quantity;
            s.onHand -= i.quantity;
          }
          r.status = 'confirmed';
          track();
        }
        return { status: 200, body: { id: r.id, status: r.status } };
      }
      if (r.status !== 'released') {
        for (const i of r.items) {
          const s = skus.get(i.sku)!;
          if (r.status === 'held') s.reserved -= i.quantity;
          else s.onHand += i.quantity; // releasing a confirmed reservation returns its stock
        }
        r.status = 'released';
        track();
      }
      return { status: 200, body: { id: r.id, status: r.status } };
    }
    return problem(404, 'not-found');
  }, hooks);
  return { ...server, skus, reservations, lowestAvailable: () => lowestAvailable, sku: (s: string) => view(s) };
}

export interface StubPayment {
  id: string;
  orderId: string;
  amount: number;
  currency: string;
  status: 'authorized' | 'captured' | 'voided' | 'refunded';
}

/**
 * Payments contract stub. `behaviour(orderId)` picks per authorization:
 * 'approve', 'decline' (402, nothing recorded) or 'slow' (authorizes, then
 * answers after `slowMs` — a timeout whose effect happened).
 */
export async function startPaymentsStub(options: { behaviour?: (orderId: string) => 'approve' | 'decline' | 'slow'; slowMs?: number; onRequest?: (method: string, path: string, headers: http.IncomingHttpHeaders) => Promise<void> | void } = {}) {
  const payments = new Map<string, StubPayment>();
  const ledger: { paymentId: string; kind: 'capture' | 'refund'; amount: number }[] = [];
  let authorizations = 0;
  let seq = 0;
  const server = await serve(
    ({ method, path, query, body }) => {
      let m: RegExpMatchArray | null;
      if (path === '/v1/internal/payments' && method === 'POST') {
        const orderId = String(body.orderId);
        const mode = options.behaviour?.(orderId) ?? 'approve';
        if (mode === 'decline') return problem(402, 'payment-declined');
        authorizations++;
        const p: StubPayment = { id: `pay-${++seq}`, orderId, amount: Number(body.amount), currency: String(body.currency), status: 'authorized' };
        payments.set(p.id, p);
        return { status: 201, body: p, delayMs: mode === 'slow' ? (options.slowMs ?? 2_000) : 0 };
      }
      if (path === '/v1/internal/payments' && method === 'GET') return { status: 200, body: [...payments.values()].filter((p) => p.orderId === query.get('orderId')) };
      if ((m = path.match(/^\/v1\/internal\/payments\/([^/]+)\/(capture|void|refund)$/)) && method === 'POST') {
        const p = payments.get(m[1]!);
        if (!p) return problem(404, 'payment-not-found');
        const action = m[2]!;
        const target = { capture: 'captured', void: 'voided', refund: 'refunded' }[action] as StubPayment['status'];
        if (p.status === target) return { status: 200, body: { id: p.id, status: p.status } };
        const allowed = (action === 'capture' || action === 'void') ? p.status === 'authorized' : p.status === 'captured';
        if (!allowed) return problem(409, 'invalid-transition', { from: p.status, action });
        p.status = target;
        if (action === 'capture') ledger.push({ paymentId: p.id, kind: 'capture', amount: p.amount });
        if (action === 'refund') ledger.push({ paymentId: p.id, kind: 'refund', amount: p.amount });
        return { status: 200, body: { id: p.id, status: p.status } };
      }
      return problem(404, 'not-found');
    },
    { onRequest: options.onRequest },
  );
  return {
    ...server,
    payments,
    ledger,
    authorizations: () => authorizations,
    /** Net money taken: captures − refunds (the reconciliation figure). */
    netCaptured: () => ledger.reduce((sum, e) => sum + (e.kind === 'capture' ? e.amount : -e.amount), 0),
  };
}
