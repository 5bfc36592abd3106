/**
 * Collaborative editing: BENCH_EDITORS (200) y-websocket editors on one
 * document of apps/collab (a child process, with PostgreSQL and Redis from
 * scripts/infra: every update stored in the log before it is relayed),
 * BENCH_WRITERS (10) of them writing BENCH_RATE (5) updates/s each for
 * BENCH_SECONDS (10) s; then the same load against a bare Hocuspocus server
 * (no persistence, no auth) with its own provider, in the same run.
 * Latency is from a writer's Y.Map set to its arrival at BENCH_OBSERVERS (20)
 * other editors (one process, one clock); memory is the server's RSS over
 * idle, per editor. The editors live in this process: on a shared 2-core
 * machine they compete with the server for CPU, so the ratio matters more
 * than the absolute figures.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { HocuspocusProvider } from '@hocuspocus/provider';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import { call, runtimeDbUrl, startService, waitFor, type Service } from '@bulwark/test-support';
import { startIssuer } from '../apps/gateway/test/support.ts';
import { ensureInfra } from '../scripts/infra/index.ts';

const EDITORS = Number(process.env.BENCH_EDITORS ?? 200);
const WRITERS = Number(process.env.BENCH_WRITERS ?? 10);
const RATE = Number(process.env.BENCH_RATE ?? 5);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const OBSERVERS = Number(process.env.BENCH_OBSERVERS ?? 20);
const BATCH = 50;
const TENANT = 'bench-collab';
const HEADERS = { 'x-auth-sub': 'bench', 'x-auth-roles': 'editor', 'x-auth-tenant': TENANT };
const root = fileURLToPath(new URL('..', import.meta.url));

interface Editor {
  doc: Y.Doc;
  synced(): boolean;
  destroy(): void;
}

interface Result {
  server: string;
  connectSeconds: number;
  rssIdleMb: number;
  rssLoadedMb: number;
  kbPerEditor: number;
  sent: number;
  p50: number;
  p99: number;
  max: number;
}

const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]!;

async function run(server: string, child: Service, open: () => Editor): Promise<Result> {
  const rssIdleMb = rssMb(child.child.pid!);
  const editors: Editor[] = [];
  const started = performance.now();
  try {
    while (editors.length < EDITORS) {
      const batch = Array.from({ length: Math.min(BATCH, EDITORS - editors.length) }, open);
      editors.push(...batch);
      await waitFor(() => batch.every((e) => e.synced()), `${server}: ${editors.length} editors synced`, 120_000, 20);
    }
    const connectSeconds = (performance.now() - started) / 1000;
    const rssLoadedMb = rssMb(child.child.pid!);
    const writers = editors.slice(0, WRITERS);
    const observers = editors.slice(WRITERS, WRITERS + OBSERVERS);
    const latencies: number[] = [];
    for (const o of observers) {
      o.doc.getMap('pings').observe((event) => {
        const now = performance.now();
        for (const key of event.keysChanged) latencies.push(now - (event.target.get(key) as number));
      });
    }
    let sent = 0;
    const ticks = SECONDS * RATE;
    for (let tick = 0; tick < ticks; tick++) {
      writers.forEach((w, i) => {
        w.doc.getMap('pings').set(`${i}:${tick}`, performance.now());
        sent++;
      });
      await new Promise((r) => setTimeout(r, 1000 / RATE));
    }
    await waitFor(() => latencies.length >= sent * observers.length, `${server}: every ping observed`, 60_000, 50).catch(() => undefined);
    const sorted = latencies.sort((a, b) => a - b);
    return {
      server,
      connectSeconds,
      rssIdleMb,
      rssLoadedMb,
      kbPerEditor: ((rssLoadedMb - rssIdleMb) * 1024) / EDITORS,
      sent: latencies.length,
      p50: quantile(sorted, 0.5),
      p99: quantile(sorted, 0.99),
      max: sorted.at(-1) ?? NaN,
    };
  } finally {
    for (const e of editors) e.destroy();
  }
}

export default async function main(): Promise<void> {
  process.setMaxListeners(0); // every y-websocket provider adds a process 'exit' listener
  const infra = await ensureInfra(['postgres', 'redis']);
  const ownerUrl = infra.BULWARK_PG_URL!;
  const issuer = await startIssuer();
  const results: Result[] = [];
  let persistMeanMs: number | undefined;
  let collab: Service | undefined;
  let hocuspocus: Service | undefined;
  try {
    const schema = `collab_bench_${Date.now().toString(36)}`;
    collab = await startService({
      name: 'collab',
      main: 'apps/collab/src/main.ts',
      cwd: root,
      env: {
        DATABASE_URL: await runtimeDbUrl(ownerUrl),
        MIGRATION_DATABASE_URL: ownerUrl,
        COLLAB_SCHEMA: schema,
        REDIS_URL: infra.BULWARK_REDIS_URL!,
        REDIS_PREFIX: schema,
        JWKS_URL: issuer.jwksUrl,
        JWT_ISSUER: 'bench',
        LOG_LEVEL: 'warn',
      },
    });
    const created = await call(collab.url, 'POST', '/v1/documents', { title: 'bench' }, HEADERS);
    const id = (created.body as { id: string }).id;
    const token = await issuer.sign({ sub: 'bench', tenant: TENANT, roles: ['editor'], iss: 'bench', aud: 'bulwark' }, { expiresIn: '1h' });
    const port = collab.port;
    results.push(
      await run('collab (ws + y-protocols, log in PostgreSQL, Redis)', collab, () => {
        const doc = new Y.Doc();
        const provider = new WebsocketProvider(`ws://127.0.0.1:${port}/v1/collab`, id, doc, { WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket, params: { token }, disableBc: true });
        return { doc, synced: () => provider.synced, destroy: () => (provider.destroy(), doc.destroy()) };
      }),
    );
    const metrics = await (await fetch(`${collab.url}/metrics`)).text();
    const value = (name: string) => Number(metrics.split('\n').find((l) => l.startsWith(name))?.split(' ').at(-1) ?? NaN);
    persistMeanMs = (value('collab_update_persist_seconds_sum') / value('collab_update_persist_seconds_count')) * 1000;
    await collab.stop();
    collab = undefined;

    hocuspocus = await startService({ name: 'hocuspocus', main: 'bench/lib/hocuspocus-server.ts', cwd: root });
    const hport = hocuspocus.port;
    results.push(
      await run('Hocuspocus 4 (bare: no persistence, no auth)', hocuspocus, () => {
        const doc = new Y.Doc();
        const provider = new HocuspocusProvider({ url: `ws://127.0.0.1:${hport}`, name: 'bench', document: doc });
        return { doc, synced: () => provider.isSynced, destroy: () => (provider.destroy(), doc.destroy()) };
      }),
    );
  } finally {
    await collab?.stop();
    await hocuspocus?.stop();
    await issuer.close();
  }
  const fmt = (n: number, d = 1) => n.toFixed(d);
  console.log(`\n${EDITORS} editors on one document, ${WRITERS} writing ${RATE} updates/s each for ${SECONDS} s, latency at ${OBSERVERS} observers`);
  console.log('server | connect s | RSS idle MB | RSS loaded MB | KB/editor | observed | p50 ms | p99 ms | max ms');
  for (const r of results) console.log(`${r.server} | ${fmt(r.connectSeconds)} | ${fmt(r.rssIdleMb)} | ${fmt(r.rssLoadedMb)} | ${fmt(r.kbPerEditor)} | ${r.sent} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${fmt(r.max)}`);
  console.log(`collab: mean wait of an update for its INSERT (received → committed): ${persistMeanMs === undefined ? "n/a" : fmt(persistMeanMs)} ms`);
  const [ours, base] = results;
  if (ours && base) console.log(`ratio collab / Hocuspocus: p50 ${fmt(ours.p50 / base.p50, 2)}×, p99 ${fmt(ours.p99 / base.p99, 2)}×, memory per editor ${fmt(ours.kbPerEditor / base.kbPerEditor, 2)}×`);
}
